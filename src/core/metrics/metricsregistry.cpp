#include "core/metrics/metricsregistry.h"

#include <QObject>

namespace cr {

void MetricsRegistry::add(const QObject *owner, Collector collector)
{
    m_collectors.append({QPointer<const QObject>(owner), std::move(collector)});
}

QByteArray MetricsRegistry::scrape() const
{
    MetricsWriter w;
    for (const Entry &e : m_collectors)
        if (e.owner)
            e.collect(w);
    return w.take();
}

} // namespace cr
