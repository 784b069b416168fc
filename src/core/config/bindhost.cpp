#include "core/config/bindhost.h"

#include "core/config/config.h"

#include <QHostInfo>
#include <QStringList>

namespace cr {

std::optional<QHostAddress> resolveBindHost(const QString &host)
{
    const QString h = host.trimmed();
    if (h.isEmpty() || h == QLatin1String("*") || h == QLatin1String("::"))
        return QHostAddress(QHostAddress::Any);
    if (h == QLatin1String("0.0.0.0"))
        return QHostAddress(QHostAddress::AnyIPv4);
    if (h.compare(QLatin1String("localhost"), Qt::CaseInsensitive) == 0)
        return QHostAddress(QHostAddress::LocalHost);
    QHostAddress address;
    if (!address.setAddress(h))
        return std::nullopt;
    return address;
}

QString hostPortString(const QHostAddress &address, quint16 port)
{
    if (address == QHostAddress(QHostAddress::Any))
        return QStringLiteral("[::]:%1").arg(port);
    const QString text = address.toString();
    return (address.protocol() == QAbstractSocket::IPv6Protocol ? QLatin1Char('[') + text + QLatin1Char(']') : text)
        + QLatin1Char(':') + QString::number(port);
}

QString urlHostFor(const QHostAddress &bound)
{
    const bool every = bound == QHostAddress(QHostAddress::Any) || bound == QHostAddress(QHostAddress::AnyIPv4)
        || bound == QHostAddress(QHostAddress::AnyIPv6);
    if (!every)
        return bound.toString();
    const QString name = QHostInfo::localHostName();
    return name.isEmpty() ? QStringLiteral("127.0.0.1") : name;
}

QString networkExposureError(const Config &config)
{
    if (!config.authToken.isEmpty() || config.allowUnauthenticatedNetwork)
        return {};
    QStringList exposed;
    auto check = [&exposed](const char *what, const QString &host) {
        const std::optional<QHostAddress> a = resolveBindHost(host);
        if (a && !a->isLoopback())
            exposed << QStringLiteral("%1 on \"%2\"").arg(QLatin1String(what), host);
    };
    check("the REST API ([http-server] host)", config.http.host);
    check("the event relay ([server] host)", config.relay.host);
    if (exposed.isEmpty())
        return {};
    return QStringLiteral("refusing to start: %1 would be reachable from the network without a token. Set [auth] token "
                          "(or the COMFY_RUNNER_TOKEN environment variable), bind to 127.0.0.1, or set [auth] "
                          "allow_unauthenticated_network = true to serve the network without authentication on purpose")
        .arg(exposed.join(QLatin1String(" and ")));
}

} // namespace cr
