#include "bench/common/samples.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace cr::bench {

void Samples::append(const Samples &other)
{
    m_values.insert(m_values.end(), other.m_values.begin(), other.m_values.end());
    m_sorted = false;
}

void Samples::sort() const
{
    if (!m_sorted) {
        std::sort(m_values.begin(), m_values.end());
        m_sorted = true;
    }
}

double Samples::percentile(double p) const
{
    if (m_values.empty())
        return 0;
    sort();
    const double n = double(m_values.size());
    const auto rank = qsizetype(std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * n));
    return m_values[size_t(std::clamp<qsizetype>(rank - 1, 0, qsizetype(m_values.size()) - 1))];
}

double Samples::mean() const
{
    if (m_values.empty())
        return 0;
    return std::accumulate(m_values.begin(), m_values.end(), 0.0) / double(m_values.size());
}

static double round1(double v) { return std::round(v * 10.0) / 10.0; }

QJsonObject Samples::summary() const
{
    return QJsonObject{{QStringLiteral("count"), double(count())},      {QStringLiteral("min"), round1(min())},
                       {QStringLiteral("p50"), round1(percentile(50))}, {QStringLiteral("p90"), round1(percentile(90))},
                       {QStringLiteral("p99"), round1(percentile(99))}, {QStringLiteral("max"), round1(max())},
                       {QStringLiteral("mean"), round1(mean())}};
}

QString fmt(double value, int decimals) { return QString::number(value, 'f', decimals); }

} // namespace cr::bench
