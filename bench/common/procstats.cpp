#include "bench/common/procstats.h"

#include <QByteArray>
#include <QFile>
#include <QList>

#include <unistd.h>

namespace cr::bench::procstats {

namespace {

QByteArray readProc(qint64 pid, const char *name)
{
    QFile f(QStringLiteral("/proc/%1/%2").arg(pid).arg(QLatin1String(name)));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return f.readAll();
}

qint64 statusKb(qint64 pid, QByteArrayView key)
{
    const QByteArray status = readProc(pid, "status");
    for (const QByteArray &line : status.split('\n')) {
        if (line.startsWith(key) && line.size() > key.size() && line.at(key.size()) == ':') {
            bool ok = false;
            const qint64 kb = line.mid(key.size() + 1).trimmed().split(' ').value(0).toLongLong(&ok);
            return ok ? kb : -1;
        }
    }
    return -1;
}

} // namespace

qint64 rssKb(qint64 pid) { return statusKb(pid, "VmRSS"); }

qint64 peakRssKb(qint64 pid) { return statusKb(pid, "VmHWM"); }

bool resetPeakRss(qint64 pid)
{
    QFile f(QStringLiteral("/proc/%1/clear_refs").arg(pid));
    return f.open(QIODevice::WriteOnly) && f.write("5") == 1;
}

qint64 cpuMs(qint64 pid)
{
    const QByteArray stat = readProc(pid, "stat");
    // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
    const qsizetype close = stat.lastIndexOf(')');
    if (close < 0)
        return -1;
    const QList<QByteArray> fields = stat.mid(close + 2).split(' ');
    // After ")": state is field 3, so utime (14) and stime (15) are at indexes 11 and 12.
    if (fields.size() < 13)
        return -1;
    const long ticks = sysconf(_SC_CLK_TCK);
    return (fields.at(11).toLongLong() + fields.at(12).toLongLong()) * 1000 / (ticks > 0 ? ticks : 100);
}

qint64 machineBusyMs()
{
    QFile f(QStringLiteral("/proc/stat"));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    const QList<QByteArray> fields
        = f.readLine().simplified().split(' '); // cpu user nice system idle iowait irq softirq steal
    if (fields.size() < 9 || fields.at(0) != "cpu")
        return -1;
    qint64 busy = 0;
    for (int i = 1; i <= 8; ++i) {
        if (i != 4 && i != 5) // idle, iowait
            busy += fields.at(i).toLongLong();
    }
    const long ticks = sysconf(_SC_CLK_TCK);
    return busy * 1000 / (ticks > 0 ? ticks : 100);
}

} // namespace cr::bench::procstats
