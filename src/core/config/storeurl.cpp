#include "core/config/storeurl.h"

#include <QDir>
#include <QRegularExpression>
#include <QUrl>
#include <QUrlQuery>

namespace cr {

QString StoreUrl::display() const
{
    if (engine == Engine::Sqlite)
        return QStringLiteral("sqlite:") + sqlitePath;
    QUrl u;
    u.setScheme(QStringLiteral("postgresql"));
    u.setUserName(user);
    u.setHost(host);
    u.setPort(port);
    u.setPath(QLatin1Char('/') + database);
    return u.toString() + (connectOptions.isEmpty() ? QString() : QStringLiteral(" (%1)").arg(connectOptions));
}

namespace {

// A libpq conninfo value: as it is when it is a plain word, else single-quoted with ' and \ escaped (libpq
// reads "key=value key=value": an unquoted space would start another keyword, a password or a host).
QString conninfoValue(const QString &value)
{
    static const QRegularExpression kPlain(QStringLiteral("^[A-Za-z0-9_.:/@+-]+$"));
    if (kPlain.match(value).hasMatch())
        return value;
    QString quoted = value;
    quoted.replace(QLatin1Char('\\'), QLatin1String("\\\\")).replace(QLatin1Char('\''), QLatin1String("\\'"));
    return QLatin1Char('\'') + quoted + QLatin1Char('\'');
}

} // namespace

std::optional<StoreUrl> parseStoreUrl(const QString &text, const QString &dataDir, QString *error)
{
    const auto fail = [error](const QString &why) -> std::optional<StoreUrl> {
        if (error)
            *error = why;
        return std::nullopt;
    };
    const QString url = text.isEmpty() ? QString::fromLatin1(kDefaultStoreUrl) : text;
    StoreUrl out;
    if (url.startsWith(QLatin1String("sqlite:"))) {
        const QString path = url.mid(7);
        if (path.isEmpty())
            return fail(QStringLiteral("\"sqlite:\" needs a file path (\"sqlite:jobs.sqlite\")"));
        out.sqlitePath = QDir::cleanPath(QDir(dataDir).absoluteFilePath(path));
        return out;
    }
    const QUrl u(url, QUrl::StrictMode);
    if (!u.isValid() || (u.scheme() != QLatin1String("postgresql") && u.scheme() != QLatin1String("postgres")))
        return fail(QStringLiteral("expected \"sqlite:PATH\" or \"postgresql://user@host:port/database\""));
    QUrlQuery query(u);
    if (!u.password().isEmpty() || query.hasQueryItem(QStringLiteral("password")))
        return fail(QStringLiteral("the URL must not hold the password (it is logged): set COMFY_RUNNER_DB_PASSWORD "
                                   "or use a libpq passfile or service file"));
    out.engine = StoreUrl::Engine::Postgres;
    out.host = u.host();
    out.port = u.port(5432);
    out.user = u.userName();
    out.database = u.path().mid(1);
    if (out.database.contains(QLatin1Char('/')))
        return fail(QStringLiteral("the database name \"%1\" must not contain '/'").arg(out.database));
    static const QRegularExpression kKeyword(QStringLiteral("^[a-z_]+$")); // libpq's keywords
    QStringList options;
    for (const auto &[key, value] : query.queryItems(QUrl::FullyDecoded)) {
        if (!kKeyword.match(key).hasMatch() || value.contains(QLatin1Char(';')))
            return fail(QStringLiteral("bad connection option \"%1\"").arg(key));
        options << key + QLatin1Char('=') + conninfoValue(value);
    }
    out.connectOptions = options.join(QLatin1Char(';'));
    return out;
}

} // namespace cr
