#include "core/metrics/processmetrics.h"

#include <QFile>

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

namespace cr {

namespace {

QByteArray readProcFile(const char *path)
{
    QFile f(QString::fromLatin1(path));
    // /proc files report size 0: read what is there, bounded.
    return f.open(QIODevice::ReadOnly) ? f.read(64 * 1024) : QByteArray();
}

int countOpenFds()
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return -1;
    int n = 0;
    while (const dirent *e = readdir(dir))
        n += e->d_name[0] == '.' ? 0 : 1;
    closedir(dir);
    return n - 1; // the descriptor of the listing itself
}

// The "btime" line of /proc/stat: boot time in seconds since the epoch.
double bootTime()
{
    const QByteArray stat = readProcFile("/proc/stat");
    for (const QByteArray &line : stat.split('\n'))
        if (line.startsWith("btime "))
            return line.mid(6).trimmed().toDouble();
    return 0;
}

} // namespace

std::optional<ProcessSample> sampleProcess()
{
    const QByteArray stat = readProcFile("/proc/self/stat");
    // The command name (field 2) is in parentheses and may hold spaces: fields are counted after the ')'.
    const qsizetype close = stat.lastIndexOf(')');
    if (close < 0)
        return std::nullopt;
    const QList<QByteArray> f = stat.mid(close + 2).split(' '); // f[0] is field 3 (state)
    if (f.size() < 22)
        return std::nullopt;
    const double ticks = double(sysconf(_SC_CLK_TCK));
    const double page = double(sysconf(_SC_PAGESIZE));
    ProcessSample s;
    s.cpuSeconds = (f.at(11).toDouble() + f.at(12).toDouble()) / ticks; // utime, stime (fields 14, 15)
    s.startTimeSeconds = bootTime() + f.at(19).toDouble() / ticks;      // starttime (field 22)
    s.virtualBytes = f.at(20).toDouble();                               // vsize (field 23)
    s.residentBytes = f.at(21).toDouble() * page;                       // rss in pages (field 24)
    s.openFds = countOpenFds();
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0)
        s.maxFds = limit.rlim_cur == RLIM_INFINITY ? -1 : double(limit.rlim_cur);
    return s;
}

void writeProcessMetrics(MetricsWriter &w)
{
    const std::optional<ProcessSample> s = sampleProcess();
    if (!s)
        return;
    w.single("process_resident_memory_bytes", MetricType::Gauge, "Resident memory size in bytes.", s->residentBytes);
    w.single("process_virtual_memory_bytes", MetricType::Gauge, "Virtual memory size in bytes.", s->virtualBytes);
    w.single("process_cpu_seconds_total", MetricType::Counter, "Total user and system CPU time spent in seconds.",
             s->cpuSeconds);
    w.single("process_start_time_seconds", MetricType::Gauge, "Start time of the process since unix epoch in seconds.",
             s->startTimeSeconds);
    if (s->openFds >= 0)
        w.single("process_open_fds", MetricType::Gauge, "Number of open file descriptors.", s->openFds);
    if (s->maxFds > 0)
        w.single("process_max_fds", MetricType::Gauge, "Maximum number of open file descriptors.", s->maxFds);
}

} // namespace cr
