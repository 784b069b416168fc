#include "core/metrics/histogram.h"

namespace cr {

Histogram::Histogram(std::span<const double> bounds) : m_bounds(bounds), m_counts(bounds.size() + 1, 0) { }

void Histogram::observe(double value)
{
    size_t i = 0;
    while (i < m_bounds.size() && value > m_bounds[i])
        ++i;
    ++m_counts[i];
    m_sum += value;
    ++m_count;
}

} // namespace cr
