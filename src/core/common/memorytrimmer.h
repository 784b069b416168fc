#pragma once
// Gives freed heap memory back to the kernel after large frees (glibc's malloc_trim), rate-limited. The
// service keeps freed memory on purpose (tuneAllocator: previews reuse their pages), so without this a burst
// such as a stalled relay client's backlog would stay in the RSS after the client is gone.

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

namespace cr {

// mallopt settings of the service (docs/benchmarks.md, finding 1); called once at the start of main().
void tuneAllocator();
// Resident set size of this process in bytes (/proc/self/statm), -1 when unknown.
qint64 residentBytes();

class MemoryTrimmer final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MemoryTrimmer)

public:
    // A trim runs `delayMs` after the first request (so that deferred deletes have run), and at most once per
    // `minIntervalMs`; requests in between are folded into the next trim.
    explicit MemoryTrimmer(int delayMs = 100, int minIntervalMs = 2000, QObject *parent = nullptr);

    void request(qint64 freedBytes);
    int trims() const { return m_trims; }

private:
    void trim();

    QTimer m_timer;
    QElapsedTimer m_last; // invalid until the first trim
    int m_delayMs;
    int m_minIntervalMs;
    qint64 m_pendingBytes = 0;
    int m_trims = 0;
};

} // namespace cr
