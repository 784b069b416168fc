#include "core/metrics/httpmetrics.h"

namespace cr {

namespace {
constexpr const char *kMethods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"};
constexpr int kMethodCount = int(std::size(kMethods));
} // namespace

HttpMetrics::HttpMetrics(const QList<QByteArray> &routes)
{
    for (const QByteArray &r : routes)
        if (!m_routes.contains(r))
            m_routes.append(r);
    m_routes.append("other");
    m_slots.resize(size_t(m_routes.size()) * kMethodCount);
}

int HttpMetrics::routeIndex(QByteArrayView route) const
{
    for (int i = 0; i < otherRoute(); ++i)
        if (m_routes.at(i) == route)
            return i;
    return otherRoute();
}

int HttpMetrics::methodIndex(QByteArrayView method)
{
    for (int i = 0; i < kMethodCount - 1; ++i)
        if (method == kMethods[i])
            return i;
    return kMethodCount - 1;
}

void HttpMetrics::record(int route, int method, int status, double seconds)
{
    if (route < 0 || route > otherRoute())
        route = otherRoute();
    if (method < 0 || method >= kMethodCount)
        method = kMethodCount - 1;
    Slot &slot = m_slots[size_t(route) * kMethodCount + size_t(method)];
    slot.latency.observe(seconds);
    for (auto &[code, count] : slot.statuses)
        if (code == status) {
            ++count;
            return;
        }
    slot.statuses.append({status, 1});
}

void HttpMetrics::write(MetricsWriter &w) const
{
    auto labels = [this](size_t i) {
        return MetricLabels{{"route", m_routes.at(qsizetype(i / kMethodCount))},
                            {"method", kMethods[i % kMethodCount]}};
    };
    w.family("comfyrunner_http_requests_total", MetricType::Counter,
             "HTTP requests answered, by route pattern, method and status code.");
    for (size_t i = 0; i < m_slots.size(); ++i)
        for (const auto &[code, count] : m_slots[i].statuses) {
            MetricLabels l = labels(i);
            l.append({"status", QByteArray::number(code)});
            w.value(l, double(count));
        }
    w.family("comfyrunner_http_request_duration_seconds", MetricType::Histogram,
             "Time from a request's arrival to its status line (for streams: to the first byte), by route and method.");
    for (size_t i = 0; i < m_slots.size(); ++i)
        if (m_slots[i].latency.count() > 0)
            w.histogram(labels(i), m_slots[i].latency);
}

} // namespace cr
