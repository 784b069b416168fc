#pragma once
// The typed readers of the TOML configuration (internal to the config module): one SectionReader per
// [section] reads its keys with range checks and reports wrong types, bad values and unknown keys with
// file:line:column. configloader.cpp says which keys each section has.

#include "core/config/configloader.h"

#include <QStringList>
#include <QUrl>

#include <toml++/toml.h>

#include <string_view>

namespace cr::configdetail {

// "a string", "an integer", ... for messages.
QString typeName(const toml::node &node);
QString qs(std::string_view sv);

// Shared state of one load: where we are and what went wrong.
struct LoadContext {
    QString file;
    QString baseDir;
    ConfigResult result;

    void add(ConfigDiagnostic::Severity severity, const toml::source_region &where, const QString &message)
    {
        ConfigDiagnostic d{severity, file, int(where.begin.line), int(where.begin.column), message};
        (severity == ConfigDiagnostic::Severity::Error ? result.errors : result.warnings).append(d);
    }
};

// Reads the keys of one table, remembers which it used and reports the others as unknown.
class SectionReader
{
public:
    SectionReader(const toml::table *table, QString section, LoadContext &ctx)
        : m_table(table), m_section(std::move(section)), m_ctx(ctx)
    { }

    void string(const char *key, QString &out);
    void choice(const char *key, QString &out, const QStringList &allowed);
    void integer(const char *key, qint64 &out, qint64 min, qint64 max);
    void count(const char *key, int &out, int min, int max);
    void port(const char *key, quint16 &out);
    // A duration in seconds (integer or float) stored as milliseconds.
    void seconds(const char *key, int &outMs, double minSec, double maxSec);
    void url(const char *key, QUrl &out, const QStringList &schemes);
    // Folders: relative to the config file's folder.
    void path(const char *key, QString &out);
    void boolean(const char *key, bool &out);
    // A listener's host: any form resolveBindHost() knows (config/bindhost.h).
    void bindHost(const char *key, QString &out);
    // QLoggingCategory filter rules, "category[.type]=true|false" separated by ';' or new lines; stored
    // one rule per line (QLoggingCategory::setFilterRules syntax).
    void logRules(const char *key, QString &out);
    // Reports every key nobody asked for.
    void finish(const QStringList &alsoKnown = {});

    bool has(const char *key) const { return m_table && m_table->contains(key); }
    QString name(const char *key) const { return QStringLiteral("[%1] %2").arg(m_section, QLatin1String(key)); }

private:
    const toml::node *take(const char *key);
    void typeError(const char *key, const toml::node &n, const QString &expected);
    void error(const toml::node &n, const QString &message);

    const toml::table *m_table;
    QString m_section;
    LoadContext &m_ctx;
    QStringList m_used;
};

// [[backends]] (configbackends.cpp): every table into cfg.backends, with file:line errors.
void readBackends(const toml::table &root, LoadContext &ctx, Config &cfg);
// [webhooks] (configwebhooks.cpp): url, events, secret (whsec_ form), retry schedule, timeout, allow_hosts.
void readWebhooks(const toml::table *section, LoadContext &ctx, Config &cfg);
// [jobs] routing = "affinity" | "least_loaded".
void readRouting(SectionReader &jobs, Config &cfg);

} // namespace cr::configdetail
