#include "protocol/error.h"

namespace cr {

QJsonObject Error::toJson() const
{
    QJsonObject o{{QStringLiteral("code"), code}, {QStringLiteral("message"), message}};
    if (!details.isEmpty())
        o.insert(QStringLiteral("details"), details);
    return o;
}

} // namespace cr
