#pragma once
// What /proc says about another process (the service under test): resident memory and CPU time.

#include <QtGlobal>

namespace cr::bench::procstats {

qint64 rssKb(qint64 pid);      // VmRSS, -1 when unreadable
qint64 peakRssKb(qint64 pid);  // VmHWM (peak resident set since start or the last resetPeakRss), -1 when unreadable
bool resetPeakRss(qint64 pid); // writes 5 to /proc/PID/clear_refs (our own child; needs the same user)
qint64 cpuMs(qint64 pid);      // user + system CPU time, -1 when unreadable
qint64 machineBusyMs();        // CPU time all cores spent not idle (/proc/stat, steal included), -1 when unreadable

} // namespace cr::bench::procstats
