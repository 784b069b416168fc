#pragma once
// A set of measurements (durations in microseconds) with nearest-rank percentiles.

#include <QJsonObject>
#include <QString>

#include <vector>

namespace cr::bench {

class Samples
{
public:
    void add(double us)
    {
        m_values.push_back(us);
        m_sorted = false;
    }
    void append(const Samples &other);
    void clear()
    {
        m_values.clear();
        m_sorted = true;
    }
    qsizetype count() const { return qsizetype(m_values.size()); }
    bool isEmpty() const { return m_values.empty(); }

    // Nearest-rank percentile (p in 0..100); 0 when empty.
    double percentile(double p) const;
    double min() const { return percentile(0); }
    double max() const { return percentile(100); }
    double mean() const;

    // {"count", "min", "p50", "p90", "p99", "max", "mean"} in the unit the values are in, rounded to 0.1.
    QJsonObject summary() const;

private:
    void sort() const;

    mutable std::vector<double> m_values;
    mutable bool m_sorted = true;
};

// Formats a value for a table: "123.4".
QString fmt(double value, int decimals = 1);

} // namespace cr::bench
