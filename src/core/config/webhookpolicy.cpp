#include "core/config/webhookpolicy.h"

#include <QRegularExpression>

namespace cr::webhookpolicy {

const QStringList &eventNames()
{
    static const QStringList names{QStringLiteral("job_started"), QStringLiteral("job_progress"),
                                   QStringLiteral("job_finished"), QStringLiteral("job_failed"),
                                   QStringLiteral("job_cancelled")};
    return names;
}

const QStringList &defaultEvents()
{
    static const QStringList names{QStringLiteral("job_finished"), QStringLiteral("job_failed"),
                                   QStringLiteral("job_cancelled")};
    return names;
}

QString eventsProblem(const QStringList &events)
{
    if (events.isEmpty())
        return QStringLiteral("the list of events is empty");
    for (qsizetype i = 0; i < events.size(); ++i) {
        if (!eventNames().contains(events.at(i)))
            return QStringLiteral("\"%1\" is not one of %2").arg(events.at(i), eventNames().join(QStringLiteral(", ")));
        if (events.indexOf(events.at(i)) != i)
            return QStringLiteral("\"%1\" is named twice").arg(events.at(i));
    }
    return {};
}

QString urlProblem(const QUrl &url)
{
    if (!url.isValid())
        return QStringLiteral("not a valid URL");
    const QString scheme = url.scheme().toLower();
    if (scheme != QLatin1String("http") && scheme != QLatin1String("https"))
        return QStringLiteral("the scheme must be http or https");
    if (url.host().isEmpty())
        return QStringLiteral("the URL has no host");
    if (url.port() == 0)
        return QStringLiteral("port 0 cannot be connected to");
    if (url.toString().size() > 2048)
        return QStringLiteral("the URL is longer than 2048 characters");
    if (url.hasFragment())
        return QStringLiteral("the URL has a fragment (#...), which is never sent");
    return {};
}

namespace {

// The IPv4 address an IPv6 one carries in its low 32 bits where some path may deliver it to IPv4: IPv4-
// compatible (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d, SIIT) and NAT64's well-known prefix
// (64:ff9b::/96, RFC 6052). IPv4-mapped ones Qt converts itself.
std::optional<QHostAddress> embeddedIPv4(const QHostAddress &a)
{
    if (a.protocol() != QAbstractSocket::IPv6Protocol)
        return std::nullopt;
    static const QList<std::pair<QHostAddress, int>> prefixes{
        QHostAddress::parseSubnet(QStringLiteral("::/96")),
        QHostAddress::parseSubnet(QStringLiteral("::ffff:0:0:0/96")),
        QHostAddress::parseSubnet(QStringLiteral("64:ff9b::/96")),
    };
    for (const auto &prefix : prefixes) {
        if (!a.isInSubnet(prefix))
            continue;
        const Q_IPV6ADDR b = a.toIPv6Address();
        return QHostAddress(quint32(b[12]) << 24 | quint32(b[13]) << 16 | quint32(b[14]) << 8 | quint32(b[15]));
    }
    return std::nullopt;
}

} // namespace

bool isForbiddenAddress(const QHostAddress &address)
{
    QHostAddress a = address;
    bool mapped = false;
    const quint32 v4 = a.toIPv4Address(&mapped); // also an IPv4-mapped IPv6 address
    if (mapped)
        a = QHostAddress(v4);
    else if (const std::optional<QHostAddress> inner = embeddedIPv4(a);
             inner && !a.isLoopback() && a != QHostAddress(QHostAddress::AnyIPv6))
        a = *inner;
    static const QList<std::pair<QHostAddress, int>> ranges{
        QHostAddress::parseSubnet(QStringLiteral("169.254.0.0/16")),
        QHostAddress::parseSubnet(QStringLiteral("fe80::/10")),
        {QHostAddress(QStringLiteral("100.100.100.200")), 32},
        {QHostAddress(QStringLiteral("fd00:ec2::254")), 128},
    };
    for (const auto &range : ranges)
        if (a.isInSubnet(range))
            return true;
    return a == QHostAddress(QHostAddress::AnyIPv4) || a == QHostAddress(QHostAddress::AnyIPv6);
}

namespace {

bool allowedBy(const QString &host, const QHostAddress &address, const QStringList &allowHosts)
{
    for (const QString &entry : allowHosts) {
        if (entry.compare(host, Qt::CaseInsensitive) == 0)
            return true;
        if (entry.contains(QLatin1Char('/'))) {
            const auto subnet = QHostAddress::parseSubnet(entry);
            if (subnet.second >= 0 && address.isInSubnet(subnet))
                return true;
        } else if (const QHostAddress a(entry); !a.isNull() && a.isEqual(address, QHostAddress::TolerantConversion)) {
            return true;
        }
    }
    return false;
}

} // namespace

QString addressProblem(const QString &host, const QList<QHostAddress> &addresses, const QStringList &allowHosts)
{
    for (const QHostAddress &a : addresses) {
        if (isForbiddenAddress(a) && !allowedBy(host, a, allowHosts))
            return QStringLiteral("%1 is a link-local or cloud metadata address%2 (allow it in [webhooks] allow_hosts)")
                .arg(a.toString(),
                     QHostAddress(host).isNull() ? QStringLiteral(" (%1 resolves to it)").arg(host) : QString());
    }
    return {};
}

QString allowHostsProblem(const QStringList &allowHosts)
{
    static const QRegularExpression kHostName(QStringLiteral("^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$"));
    for (const QString &entry : allowHosts) {
        if (entry.contains(QLatin1Char('/'))) {
            if (QHostAddress::parseSubnet(entry).second < 0)
                return QStringLiteral("\"%1\" is not a subnet (a.b.c.d/n or x::/n)").arg(entry);
        } else if (QHostAddress(entry).isNull() && !kHostName.match(entry).hasMatch()) {
            return QStringLiteral("\"%1\" is neither a host name nor an address").arg(entry);
        }
    }
    return {};
}

std::optional<QByteArray> decodeSecret(const QString &secret)
{
    if (!secret.startsWith(QLatin1String("whsec_")))
        return std::nullopt;
    const auto decoded
        = QByteArray::fromBase64Encoding(secret.mid(6).toLatin1(), QByteArray::AbortOnBase64DecodingErrors);
    if (!decoded || decoded.decoded.size() < 24 || decoded.decoded.size() > 64)
        return std::nullopt;
    return decoded.decoded;
}

} // namespace cr::webhookpolicy
