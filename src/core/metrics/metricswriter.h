#pragma once
// The Prometheus text exposition format 0.0.4: one "# HELP" and "# TYPE" line per family, then its samples,
// label values escaped (\\, \", \n), histograms as cumulative _bucket{le=...} lines ending with le="+Inf",
// then _sum and _count. Collectors write whole families; the writer only encodes.

#include "core/metrics/histogram.h"

#include <QByteArray>
#include <QList>
#include <utility>

namespace cr {

enum class MetricType { Counter, Gauge, Histogram };

// Label name -> value. Names are fixed identifiers; values are escaped by the writer.
using MetricLabels = QList<std::pair<QByteArray, QByteArray>>;

class MetricsWriter
{
public:
    // Starts a family: name without suffixes ("comfyrunner_http_requests_total", "..._seconds"), one line help.
    void family(const QByteArray &name, MetricType type, const QByteArray &help);
    // One sample of the current counter or gauge family.
    void value(const MetricLabels &labels, double value);
    // One label set of the current histogram family.
    void histogram(const MetricLabels &labels, const Histogram &h);
    // A complete family with one unlabelled sample (most gauges).
    void single(const QByteArray &name, MetricType type, const QByteArray &help, double value);

    const QByteArray &text() const { return m_out; }
    QByteArray take() { return std::exchange(m_out, {}); }

    static QByteArray escapeLabelValue(const QByteArray &value);
    static QByteArray formatNumber(double value); // integers without a fraction, "+Inf", "-Inf", "NaN"

private:
    void line(const QByteArray &name, const MetricLabels &labels, const QByteArray *le, double value);
    QByteArray m_out;
    QByteArray m_name;
};

} // namespace cr
