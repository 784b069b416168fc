// [webhooks]: the default webhook of every job, the signing secret (Standard Webhooks "whsec_" form, checked
// here so --check-config names its line), the retry schedule, the per-attempt timeout, the concurrency and
// the hosts let through the link-local guard. See config.h (WebhookSettings) and docs/webhooks.md.

#include "core/config/configreader.h"
#include "core/config/webhookpolicy.h"

namespace cr::configdetail {

namespace {

// An array of strings into `out`; false (with the error reported) when it is not one.
bool readStrings(const toml::node *n, const QString &where, LoadContext &ctx, QStringList &out)
{
    const toml::array *a = n->as_array();
    if (!a) {
        ctx.add(ConfigDiagnostic::Severity::Error, n->source(),
                QStringLiteral("%1: expected an array of strings, got %2").arg(where, typeName(*n)));
        return false;
    }
    QStringList values;
    for (const toml::node &item : *a) {
        if (auto s = item.value_exact<std::string>(); s && !s->empty()) {
            values << QString::fromStdString(*s);
        } else {
            ctx.add(ConfigDiagnostic::Severity::Error, item.source(),
                    QStringLiteral("%1: every entry must be a non-empty string, got %2").arg(where, typeName(item)));
            return false;
        }
    }
    out = values;
    return true;
}

} // namespace

void readWebhooks(const toml::table *section, LoadContext &ctx, Config &cfg)
{
    WebhookSettings &w = cfg.webhooks;
    SectionReader r(section, QStringLiteral("webhooks"), ctx);
    const auto error = [&ctx](const toml::node &n, const QString &message) {
        ctx.add(ConfigDiagnostic::Severity::Error, n.source(), message);
    };
    QString url;
    r.string("url", url);
    if (!url.isEmpty()) {
        const QUrl u(url, QUrl::StrictMode);
        if (const QString why = webhookpolicy::urlProblem(u); !why.isEmpty())
            error(*section->get("url"), QStringLiteral("[webhooks] url: \"%1\": %2").arg(url, why));
        else
            w.url = u;
    }
    r.string("secret", w.secret);
    if (r.has("secret") && !w.secret.isEmpty() && !webhookpolicy::decodeSecret(w.secret))
        error(*section->get("secret"),
              QStringLiteral(
                  "[webhooks] secret: expected \"whsec_\" followed by the base64 of 24 to 64 random bytes "
                  "(python3 -c \"import base64,os; print('whsec_' + base64.b64encode(os.urandom(32)).decode())\")"));
    r.count("max_attempts", w.maxAttempts, 1, 100);
    r.seconds("retry_delay", w.retryDelayMs, 0.001, 86400);
    r.seconds("retry_max_delay", w.retryMaxDelayMs, 0.001, 7 * 86400);
    r.seconds("timeout", w.timeoutMs, 0.01, 600);
    r.count("concurrency", w.concurrency, 1, 256);
    if (section && section->get("events")) {
        const toml::node *n = section->get("events");
        QStringList events;
        if (readStrings(n, QStringLiteral("[webhooks] events"), ctx, events)) {
            if (const QString why = webhookpolicy::eventsProblem(events); !why.isEmpty())
                error(*n, QStringLiteral("[webhooks] events: %1").arg(why));
            else
                w.events = events;
        }
    }
    if (section && section->get("allow_hosts")) {
        const toml::node *n = section->get("allow_hosts");
        QStringList hosts;
        if (readStrings(n, QStringLiteral("[webhooks] allow_hosts"), ctx, hosts)) {
            if (const QString why = webhookpolicy::allowHostsProblem(hosts); !why.isEmpty())
                error(*n, QStringLiteral("[webhooks] allow_hosts: %1").arg(why));
            else
                w.allowHosts = hosts;
        }
    }
    r.finish({QStringLiteral("events"), QStringLiteral("allow_hosts")});
    if (w.retryMaxDelayMs < w.retryDelayMs && section)
        error(*section, QStringLiteral("[webhooks] retry_max_delay must not be below retry_delay"));
    // A literal address in the default url is refused now; a host name is checked at every attempt.
    if (w.url.isValid() && !QHostAddress(w.url.host()).isNull()) {
        if (const QString why = webhookpolicy::addressProblem(w.url.host(), {QHostAddress(w.url.host())}, w.allowHosts);
            !why.isEmpty())
            error(*section->get("url"), QStringLiteral("[webhooks] url: %1").arg(why));
    }
    if (!w.url.isEmpty() && w.secret.isEmpty() && section)
        error(*section->get("url"), QStringLiteral("[webhooks] url needs [webhooks] secret: every delivery is signed"));
}

} // namespace cr::configdetail
