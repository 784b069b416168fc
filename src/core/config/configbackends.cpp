// [[backends]]: the ComfyUIs of the pool, each with its name, URL, tags and in-flight bound, checked with
// file:line like every other key; and [jobs] routing. See config.h (BackendSettings) for what each means.

#include "core/config/configreader.h"

#include <QRegularExpression>

namespace cr::configdetail {

namespace {

const QRegularExpression kBackendName(QStringLiteral("^[A-Za-z0-9_.-]{1,64}$"));

void readTags(const toml::node *n, const QString &where, LoadContext &ctx, QStringList &out)
{
    if (!n)
        return;
    const toml::array *a = n->as_array();
    if (!a) {
        ctx.add(ConfigDiagnostic::Severity::Error, n->source(),
                QStringLiteral("%1 tags: expected an array of strings, got %2").arg(where, typeName(*n)));
        return;
    }
    for (const toml::node &t : *a) {
        if (auto s = t.value_exact<std::string>(); s && !s->empty())
            out << QString::fromStdString(*s);
        else
            ctx.add(ConfigDiagnostic::Severity::Error, t.source(),
                    QStringLiteral("%1 tags: every tag must be a non-empty string, got %2").arg(where, typeName(t)));
    }
}

} // namespace

void readBackends(const toml::table &root, LoadContext &ctx, Config &cfg)
{
    const toml::node *node = root.get("backends");
    if (!node)
        return;
    const toml::array *list = node->as_array();
    if (!list || !list->is_array_of_tables()) {
        ctx.add(
            ConfigDiagnostic::Severity::Error, node->source(),
            QStringLiteral("backends: expected [[backends]] tables (an array of tables), got %1").arg(typeName(*node)));
        return;
    }
    // [comfy] url/host/port describe the pool of one; with [[backends]] they would be silently ignored.
    if (const toml::table *comfy = root.get("comfy") ? root.get("comfy")->as_table() : nullptr) {
        for (const char *key : {"url", "host", "port"}) {
            if (const toml::node *n = comfy->get(key))
                ctx.add(ConfigDiagnostic::Severity::Error, n->source(),
                        QStringLiteral("[comfy] %1 (line %2) cannot be combined with [[backends]] (line %3): "
                                       "name every ComfyUI in a [[backends]] table")
                            .arg(QLatin1String(key))
                            .arg(n->source().begin.line)
                            .arg(list->get(0)->source().begin.line));
        }
    }
    QHash<QString, int> seen; // name -> line
    int index = 0;
    for (const toml::node &entry : *list) {
        ++index;
        const toml::table *t = entry.as_table();
        const QString where = QStringLiteral("[backends #%1]").arg(index); // as SectionReader names its keys
        SectionReader r(t, QStringLiteral("backends #%1").arg(index), ctx);
        BackendSettings b;
        b.url = QUrl();
        r.string("name", b.name);
        r.url("url", b.url, {QStringLiteral("http"), QStringLiteral("https")});
        r.count("max_in_flight", b.maxInFlight, 1, 64);
        readTags(t->get("tags"), where, ctx, b.tags);
        r.finish({QStringLiteral("tags")});
        const toml::node *nameNode = t->get("name");
        if (!nameNode)
            ctx.add(ConfigDiagnostic::Severity::Error, t->source(),
                    QStringLiteral("%1: \"name\" is required").arg(where));
        else if (nameNode->is_string() && !kBackendName.match(b.name).hasMatch())
            ctx.add(
                ConfigDiagnostic::Severity::Error, nameNode->source(),
                QStringLiteral("%1 name: \"%2\" must be 1 to 64 letters, digits, '_', '-' or '.'").arg(where, b.name));
        else if (seen.contains(b.name))
            ctx.add(ConfigDiagnostic::Severity::Error, nameNode->source(),
                    QStringLiteral("%1 name: \"%2\" is already the name of the backend at line %3")
                        .arg(where, b.name)
                        .arg(seen.value(b.name)));
        else
            seen.insert(b.name, int(nameNode->source().begin.line));
        if (!t->get("url"))
            ctx.add(ConfigDiagnostic::Severity::Error, t->source(),
                    QStringLiteral("%1: \"url\" is required").arg(where));
        else if (b.url.isValid() && b.url.port() == 0)
            ctx.add(ConfigDiagnostic::Severity::Error, t->get("url")->source(),
                    QStringLiteral("%1 url: port 0 is not a ComfyUI port (1 to 65535)").arg(where));
        cfg.backends.append(b);
    }
}

void readRouting(SectionReader &jobs, Config &cfg)
{
    QString routing
        = cfg.jobs.routing == RoutingMode::Affinity ? QStringLiteral("affinity") : QStringLiteral("least_loaded");
    jobs.choice("routing", routing, {QStringLiteral("affinity"), QStringLiteral("least_loaded")});
    cfg.jobs.routing = routing == QLatin1String("least_loaded") ? RoutingMode::LeastLoaded : RoutingMode::Affinity;
}

} // namespace cr::configdetail
