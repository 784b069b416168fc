#include "core/webhooks/webhooksignature.h"

#include <QMessageAuthenticationCode>

namespace cr {

QByteArray webhookSignature(const QByteArray &key, const QString &id, qint64 timestamp, const QByteArray &body)
{
    QMessageAuthenticationCode mac(QCryptographicHash::Sha256, key);
    mac.addData(id.toUtf8());
    mac.addData(".", 1);
    mac.addData(QByteArray::number(timestamp));
    mac.addData(".", 1);
    mac.addData(body);
    return QByteArrayLiteral("v1,") + mac.result().toBase64();
}

} // namespace cr
