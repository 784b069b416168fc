#pragma once
// What GET /metrics serves: a list of collectors, each writing its families at scrape time. Modules keep
// their own counters (the relay's totals, the SSE stream counts, the ComfyUI connection state) and a
// collector reads them, so nothing is added per frame. A collector is dropped once its owner is destroyed.

#include "core/metrics/metricswriter.h"

#include <QList>
#include <QPointer>

#include <functional>

class QObject;

namespace cr {

class MetricsRegistry
{
public:
    using Collector = std::function<void(MetricsWriter &)>;

    // Collectors run in the order they were added; `owner` (not null) bounds the collector's life.
    void add(const QObject *owner, Collector collector);
    // The whole exposition (text format 0.0.4).
    QByteArray scrape() const;

    static constexpr const char *kContentType = "text/plain; version=0.0.4; charset=utf-8";

private:
    struct Entry {
        QPointer<const QObject> owner;
        Collector collect;
    };
    QList<Entry> m_collectors;
};

} // namespace cr
