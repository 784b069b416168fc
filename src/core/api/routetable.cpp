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
        {"GET", "/metrics", RouteId::Metrics},
    };
    return table;
}

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
    const QString path = QString::fromLatin1(target);
    for (const RouteSpec &spec : routeTable()) {
        QStringList args;
        if (isLegacyRoute(spec.id) && matchRoute(QLatin1String(spec.path), path, &args))
            return true;
    }
    return false;
}

bool matchRoute(const QString &pattern, const QString &path, QStringList *args)
{
    const QStringList want = pattern.split(QLatin1Char('/'));
    const QStringList have = path.split(QLatin1Char('/'));
    if (want.size() != have.size())
        return false;
    QStringList found;
    for (qsizetype i = 0; i < want.size(); ++i) {
        const QString &w = want.at(i);
        if (w.startsWith(QLatin1Char('{')) && w.endsWith(QLatin1Char('}'))) {
            if (have.at(i).isEmpty())
                return false;
            found.append(have.at(i));
        } else if (w != have.at(i)) {
            return false;
        }
    }
    if (args)
        *args = found;
    return true;
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
