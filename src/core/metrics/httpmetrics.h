#pragma once
// HTTP requests by route pattern, method and status, with a latency histogram per route and method. The
// label values are bounded: routes come from the route table given at construction (plus "other"), methods
// from a fixed list (plus "other"). record() is an index, a short scan over the statuses seen and adds.

#include "core/metrics/histogram.h"
#include "core/metrics/metricswriter.h"

#include <QByteArrayView>
#include <QList>
#include <QVarLengthArray>

#include <vector>

namespace cr {

class HttpMetrics
{
public:
    // routes: the route patterns ("/api/v1/jobs/{id}"), duplicates allowed; "other" is added last.
    explicit HttpMetrics(const QList<QByteArray> &routes);

    int routeIndex(QByteArrayView route) const; // index of a pattern; otherRoute() when unknown
    int otherRoute() const { return int(m_routes.size()) - 1; }
    static int methodIndex(QByteArrayView method);

    void record(int route, int method, int status, double seconds);
    // comfyrunner_http_requests_total and comfyrunner_http_request_duration_seconds.
    void write(MetricsWriter &w) const;

private:
    struct Slot {
        Histogram latency{kHttpLatencyBuckets};
        QVarLengthArray<std::pair<int, quint64>, 4> statuses; // status -> count, in the order first seen
    };
    QList<QByteArray> m_routes;
    std::vector<Slot> m_slots; // route * method count + method
};

} // namespace cr
