#include "core/common/auth.h"

#include <algorithm>

namespace cr {

bool constantTimeEquals(const QByteArray &a, const QByteArray &b)
{
    const qsizetype n = std::max(a.size(), b.size());
    unsigned diff = unsigned(a.size() ^ b.size());
    for (qsizetype i = 0; i < n; ++i) {
        const unsigned char x = i < a.size() ? uchar(a.at(i)) : 0;
        const unsigned char y = i < b.size() ? uchar(b.at(i)) : 0;
        diff |= unsigned(x ^ y);
    }
    return diff == 0;
}

bool tokenAccepted(const QByteArray &secret, const TokenCheck &check)
{
    if (secret.isEmpty())
        return true;
    if (check.authorization) {
        // "Bearer" in any case, then one or more spaces, then the token (RFC 7235 / RFC 6750).
        const QByteArray value = check.authorization->trimmed();
        constexpr qsizetype kScheme = 6; // "bearer"
        if (value.size() <= kScheme || value.left(kScheme).toLower() != "bearer"
            || (value.at(kScheme) != ' ' && value.at(kScheme) != '\t'))
            return false;
        return constantTimeEquals(value.mid(kScheme).trimmed(), secret);
    }
    return check.queryTokenAllowed && check.queryToken && constantTimeEquals(*check.queryToken, secret);
}

} // namespace cr
