#include "core/api/routetable.h"

namespace cr {

const QList<RouteSpec> &routeTable()
{
    static const QList<RouteSpec> table = {
        {"GET", "/health", RouteId::LegacyHealth, true},
        {"GET", "/status", RouteId::LegacyStatus},
        {"GET", "/queue", RouteId::LegacyQueue},
        {"POST", "/update/text", RouteId::LegacyUpdateText},
        {"POST", "/update/prompt", RouteId::LegacyUpdatePrompt},
        {"POST", "/update/image", RouteId::LegacyUpdateImage},
        {"POST", "/generate/image", RouteId::LegacyGenerateImage},
        {"POST", "/interrupt", RouteId::LegacyInterrupt},

        {"GET", "/api/v1/health", RouteId::Health, true},
        {"GET", "/api/v1/ready", RouteId::Ready},
        {"GET", "/api/v1/system", RouteId::System},
        {"GET", "/api/v1/openapi.json", RouteId::OpenApi},
        {"GET", "/api/v1/workflows", RouteId::ListWorkflows},
        {"GET", "/api/v1/workflows/{name}", RouteId::GetWorkflow},
        {"GET", "/api/v1/draft", RouteId::GetDraft},
        {"PATCH", "/api/v1/draft", RouteId::PatchDraft},
        {"POST", "/api/v1/draft/reset", RouteId::ResetDraft},
        {"PUT", "/api/v1/draft/workflow", RouteId::SwitchDraft},
        {"POST", "/api/v1/jobs", RouteId::CreateJob},
        {"GET", "/api/v1/jobs", RouteId::ListJobs},
        {"GET", "/api/v1/jobs/{id}", RouteId::GetJob},
        {"POST", "/api/v1/jobs/{id}/cancel", RouteId::CancelJob},
        {"GET", "/api/v1/jobs/{id}/outputs/{index}", RouteId::GetJobOutput},
        {"GET", "/api/v1/jobs/{id}/events", RouteId::GetJobEvents, false, true},
        {"GET", "/api/v1/events", RouteId::Events, false, true},
        {"POST", "/api/v1/uploads", RouteId::Upload},
        {"GET", "/api/v1/backends", RouteId::ListBackends},
        {"GET", "/api/v1/backends/{name}", RouteId::GetBackend},
        {"POST", "/api/v1/backends/{name}/drain", RouteId::DrainBackend},
        {"POST", "/api/v1/backends/{name}/resume", RouteId::ResumeBackend},
        {"POST", "/api/v1/backends/{name}/refresh", RouteId::RefreshBackend},
        {"GET", "/api/v1/webhooks/deliveries", RouteId::ListWebhookDeliveries},
        {"GET", "/api/v1/webhooks/deliveries/{id}", RouteId::GetWebhookDelivery},
        {"POST", "/api/v1/webhooks/deliveries/{id}/redeliver", RouteId::RedeliverWebhook},
        {"GET", "/metrics", RouteId::Metrics},
    };
    return table;
}

namespace {

// Walks both paths segment by segment without splitting them: no allocation unless the route matches and
// has placeholders (every request is matched against the whole table, twice).
template <typename Pattern, typename Path>
bool matchSegments(Pattern pattern, Path path, QStringList *args)
{
    qsizetype pw = 0, ph = 0;
    QStringList found;
    while (true) {
        const qsizetype ew = pattern.indexOf(QLatin1Char('/'), pw);
        const qsizetype eh = path.indexOf(QLatin1Char('/'), ph);
        if ((ew < 0) != (eh < 0))
            return false; // one has more segments
        const auto w = pattern.sliced(pw, (ew < 0 ? pattern.size() : ew) - pw);
        const auto h = path.sliced(ph, (eh < 0 ? path.size() : eh) - ph);
        if (w.size() >= 2 && w.front() == QLatin1Char('{') && w.back() == QLatin1Char('}')) {
            if (h.isEmpty())
                return false;
            if (args)
                found.append(h.toString());
        } else if (w != h) {
            return false;
        }
        if (ew < 0)
            break;
        pw = ew + 1;
        ph = eh + 1;
    }
    if (args)
        *args = std::move(found);
    return true;
}

} // namespace

bool requestNamesLegacyRoute(QByteArrayView bytes)
{
    const qsizetype lineEnd = bytes.indexOf('\n');
    const QByteArrayView line = lineEnd < 0 ? bytes : bytes.first(lineEnd);
    const qsizetype start = line.indexOf(' ');
    if (start < 0)
        return false;
    QByteArrayView target = line.sliced(start + 1);
    if (const qsizetype end = target.indexOf(' '); end >= 0)
        target = target.first(end);
    if (const qsizetype query = target.indexOf('?'); query >= 0)
        target = target.first(query);
    const QLatin1StringView path(target.data(), target.size());
    for (const RouteSpec &spec : routeTable()) {
        if (isLegacyRoute(spec.id) && matchSegments(QLatin1StringView(spec.path), path, nullptr))
            return true;
    }
    return false;
}

bool matchRoute(QLatin1StringView pattern, QStringView path, QStringList *args)
{
    return matchSegments(pattern, path, args);
}

bool matchRoute(const QString &pattern, const QString &path, QStringList *args)
{
    return matchSegments(QStringView(pattern), QStringView(path), args);
}

std::optional<qint64> canonicalNumber(QStringView text, qint64 max)
{
    if (text.isEmpty() || text.size() > 18 || (text.size() > 1 && text.front() == u'0'))
        return std::nullopt;
    qint64 value = 0;
    for (const QChar c : text) {
        if (c < u'0' || c > u'9')
            return std::nullopt;
        value = value * 10 + (c.unicode() - u'0');
    }
    if (value > max)
        return std::nullopt;
    return value;
}

} // namespace cr
