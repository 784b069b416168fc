#pragma once
// The standard process_* metrics Grafana users know, read from /proc at scrape time (Linux):
// process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds, process_max_fds,
// process_cpu_seconds_total and process_start_time_seconds.

#include "core/metrics/metricswriter.h"

#include <optional>

namespace cr {

struct ProcessSample {
    double residentBytes = 0;
    double virtualBytes = 0;
    double cpuSeconds = 0;
    double startTimeSeconds = 0; // since the epoch
    int openFds = 0;
    double maxFds = 0;
};

// Nullopt where /proc/self is not readable.
std::optional<ProcessSample> sampleProcess();
void writeProcessMetrics(MetricsWriter &w);

} // namespace cr
