#include "core/metrics/metricswriter.h"

#include <cmath>

namespace cr {

void MetricsWriter::family(const QByteArray &name, MetricType type, const QByteArray &help)
{
    m_name = name;
    QByteArray escapedHelp = help;
    escapedHelp.replace('\\', "\\\\").replace('\n', "\\n");
    const char *typeName = type == MetricType::Counter ? "counter" : type == MetricType::Gauge ? "gauge" : "histogram";
    m_out += "# HELP " + name + ' ' + escapedHelp + "\n# TYPE " + name + ' ' + typeName + '\n';
}

void MetricsWriter::value(const MetricLabels &labels, double v) { line(m_name, labels, nullptr, v); }

void MetricsWriter::histogram(const MetricLabels &labels, const Histogram &h)
{
    const QByteArray bucket = m_name + "_bucket";
    quint64 cumulative = 0;
    const auto bounds = h.bounds();
    for (size_t i = 0; i < bounds.size(); ++i) {
        cumulative += h.bucketCounts()[i];
        const QByteArray le = formatNumber(bounds[i]);
        line(bucket, labels, &le, double(cumulative));
    }
    const QByteArray inf("+Inf");
    line(bucket, labels, &inf, double(h.count()));
    line(m_name + "_sum", labels, nullptr, h.sum());
    line(m_name + "_count", labels, nullptr, double(h.count()));
}

void MetricsWriter::single(const QByteArray &name, MetricType type, const QByteArray &help, double v)
{
    family(name, type, help);
    value({}, v);
}

QByteArray MetricsWriter::escapeLabelValue(const QByteArray &value)
{
    QByteArray out;
    out.reserve(value.size());
    for (const char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

QByteArray MetricsWriter::formatNumber(double v)
{
    if (std::isnan(v))
        return "NaN";
    if (std::isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    if (v == std::floor(v) && std::fabs(v) < 9.007199254740992e15)
        return QByteArray::number(qint64(v));
    return QByteArray::number(v, 'g', 15);
}

void MetricsWriter::line(const QByteArray &name, const MetricLabels &labels, const QByteArray *le, double v)
{
    m_out += name;
    if (!labels.isEmpty() || le) {
        m_out += '{';
        bool first = true;
        for (const auto &[key, val] : labels) {
            if (!first)
                m_out += ',';
            first = false;
            m_out += key + "=\"" + escapeLabelValue(val) + '"';
        }
        if (le)
            m_out += QByteArray(first ? "" : ",") + "le=\"" + *le + '"';
        m_out += '}';
    }
    m_out += ' ' + formatNumber(v) + '\n';
}

} // namespace cr
