#pragma once
// A Prometheus histogram: fixed upper bounds (ascending, +Inf implied), one count per bucket, sum and count.
// observe() is a short scan and plain adds, cheap enough for a request path.

#include <QtGlobal>

#include <array>
#include <span>
#include <vector>

namespace cr {

// Bucket sets in base units (seconds), shared by the service's histograms.
inline constexpr std::array<double, 14> kHttpLatencyBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                            0.1,    0.25,  0.5,    1,     2.5,  5,     10};
inline constexpr std::array<double, 13> kJobDurationBuckets{0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600};
inline constexpr std::array<double, 12> kQueueWaitBuckets{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600};

class Histogram
{
public:
    explicit Histogram(std::span<const double> bounds = {});

    void observe(double value);
    std::span<const double> bounds() const { return m_bounds; }
    // Observations per bucket, not cumulative; the last one is the +Inf bucket (size bounds + 1).
    const std::vector<quint64> &bucketCounts() const { return m_counts; }
    double sum() const { return m_sum; }
    quint64 count() const { return m_count; }

private:
    std::span<const double> m_bounds;
    std::vector<quint64> m_counts;
    double m_sum = 0;
    quint64 m_count = 0;
};

} // namespace cr
