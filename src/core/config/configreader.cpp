#include "core/config/configreader.h"

#include "core/config/bindhost.h"

#include <QDir>
#include <QRegularExpression>

namespace cr::configdetail {

QString typeName(const toml::node &node)
{
    switch (node.type()) {
    case toml::node_type::string:
        return QStringLiteral("a string");
    case toml::node_type::integer:
        return QStringLiteral("an integer");
    case toml::node_type::floating_point:
        return QStringLiteral("a float");
    case toml::node_type::boolean:
        return QStringLiteral("a boolean");
    case toml::node_type::table:
        return QStringLiteral("a table");
    case toml::node_type::array:
        return QStringLiteral("an array");
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
        return QStringLiteral("a date/time");
    case toml::node_type::none:
        break;
    }
    return QStringLiteral("nothing");
}

QString qs(std::string_view sv) { return QString::fromUtf8(sv.data(), qsizetype(sv.size())); }

void SectionReader::string(const char *key, QString &out)
{
    if (const toml::node *n = take(key)) {
        if (auto v = n->value<std::string>())
            out = QString::fromStdString(*v);
        else
            typeError(key, *n, QStringLiteral("a string"));
    }
}

void SectionReader::choice(const char *key, QString &out, const QStringList &allowed)
{
    QString value = out;
    const toml::node *n = m_table ? m_table->get(key) : nullptr;
    string(key, value);
    if (!n || !n->is_string())
        return;
    if (!allowed.contains(value)) {
        error(*n,
              QStringLiteral("%1: \"%2\" is not one of %3").arg(name(key), value, allowed.join(QLatin1String(", "))));
        return;
    }
    out = value;
}

void SectionReader::integer(const char *key, qint64 &out, qint64 min, qint64 max)
{
    if (const toml::node *n = take(key)) {
        if (!n->is_integer()) {
            typeError(key, *n, QStringLiteral("an integer"));
            return;
        }
        const qint64 v = n->as_integer()->get();
        if (v < min || v > max) {
            error(*n, QStringLiteral("%1: %2 is out of range (%3 to %4)").arg(name(key)).arg(v).arg(min).arg(max));
            return;
        }
        out = v;
    }
}

void SectionReader::count(const char *key, int &out, int min, int max)
{
    qint64 v = out;
    integer(key, v, min, max);
    out = int(v);
}

void SectionReader::port(const char *key, quint16 &out)
{
    qint64 v = out;
    integer(key, v, 0, 65535);
    out = quint16(v);
}

void SectionReader::seconds(const char *key, int &outMs, double minSec, double maxSec)
{
    if (const toml::node *n = take(key)) {
        std::optional<double> v;
        if (n->is_integer())
            v = double(n->as_integer()->get());
        else if (n->is_floating_point())
            v = n->as_floating_point()->get();
        if (!v) {
            typeError(key, *n, QStringLiteral("a number of seconds"));
            return;
        }
        if (!(*v >= minSec && *v <= maxSec)) {
            error(
                *n,
                QStringLiteral("%1: %2 s is out of range (%3 to %4 s)").arg(name(key)).arg(*v).arg(minSec).arg(maxSec));
            return;
        }
        outMs = int(*v * 1000.0);
    }
}

void SectionReader::url(const char *key, QUrl &out, const QStringList &schemes)
{
    QString text;
    const toml::node *n = m_table ? m_table->get(key) : nullptr;
    string(key, text);
    if (!n || !n->is_string())
        return;
    const QUrl u(text, QUrl::StrictMode);
    if (!u.isValid() || !schemes.contains(u.scheme()) || u.host().isEmpty()) {
        error(*n,
              QStringLiteral("%1: \"%2\" is not a valid %3 URL").arg(name(key), text, schemes.join(QLatin1Char('/'))));
        return;
    }
    out = u;
}

void SectionReader::path(const char *key, QString &out)
{
    QString text;
    const toml::node *n = m_table ? m_table->get(key) : nullptr;
    string(key, text);
    if (!n || !n->is_string())
        return;
    if (text.isEmpty()) {
        error(*n, QStringLiteral("%1: must not be empty").arg(name(key)));
        return;
    }
    out = QDir(m_ctx.baseDir).absoluteFilePath(QDir::fromNativeSeparators(text));
}

void SectionReader::boolean(const char *key, bool &out)
{
    if (const toml::node *n = take(key)) {
        if (auto v = n->value_exact<bool>())
            out = *v;
        else
            typeError(key, *n, QStringLiteral("a boolean"));
    }
}

void SectionReader::bindHost(const char *key, QString &out)
{
    QString text = out;
    const toml::node *n = m_table ? m_table->get(key) : nullptr;
    string(key, text);
    if (!n || !n->is_string())
        return;
    if (!resolveBindHost(text)) {
        error(*n,
              QStringLiteral("%1: \"%2\" is not an IP address (use an IP address, localhost, 0.0.0.0, :: or *)")
                  .arg(name(key), text));
        return;
    }
    out = text;
}

void SectionReader::logRules(const char *key, QString &out)
{
    QString text;
    const toml::node *n = m_table ? m_table->get(key) : nullptr;
    string(key, text);
    if (!n || !n->is_string())
        return;
    // What QLoggingRule accepts: a category pattern ('*' only at its start or end), an optional message
    // type, then =true or =false. Qt ignores a bad rule silently; here it is an error at its line.
    static const QRegularExpression rule(
        QStringLiteral("^\\*?[A-Za-z0-9_.-]*\\*?(\\.(debug|info|warning|critical))?\\s*=\\s*(true|false)$"));
    QStringList rules;
    for (QString r : text.split(QRegularExpression(QStringLiteral("[;\\n]")), Qt::SkipEmptyParts)) {
        r = r.trimmed();
        if (r.isEmpty())
            continue;
        if (!rule.match(r).hasMatch() || r.startsWith(QLatin1Char('='))) {
            error(*n,
                  QStringLiteral(
                      "%1: \"%2\" is not a logging rule (category[.debug|.info|.warning|.critical]=true|false, "
                      "e.g. comfyrunner.api.debug=true)")
                      .arg(name(key), r));
            return;
        }
        rules << r;
    }
    out = rules.join(QLatin1Char('\n'));
}

void SectionReader::finish(const QStringList &alsoKnown)
{
    if (!m_table)
        return;
    for (auto &&[k, v] : *m_table) {
        const QString key = qs(k.str());
        if (m_used.contains(key) || alsoKnown.contains(key))
            continue;
        m_ctx.add(ConfigDiagnostic::Severity::Warning, k.source(),
                  QStringLiteral("unknown key \"%1\" in [%2] (ignored)").arg(key, m_section));
    }
}

const toml::node *SectionReader::take(const char *key)
{
    m_used.append(QLatin1String(key));
    return m_table ? m_table->get(key) : nullptr;
}

void SectionReader::typeError(const char *key, const toml::node &n, const QString &expected)
{
    error(n, QStringLiteral("%1: expected %2, got %3").arg(name(key), expected, typeName(n)));
}

void SectionReader::error(const toml::node &n, const QString &message)
{
    m_ctx.add(ConfigDiagnostic::Severity::Error, n.source(), message);
}

} // namespace cr::configdetail
