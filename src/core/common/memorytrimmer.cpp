#include "core/common/memorytrimmer.h"

#include <QFile>
#include <QLoggingCategory>

#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

Q_LOGGING_CATEGORY(lcMemory, "comfyrunner.memory")

namespace cr {

void tuneAllocator()
{
#if defined(__GLIBC__)
    // The relay copies every preview (hundreds of KB) into each client's write buffer. With glibc's default
    // thresholds each copy is a fresh mmap that is faulted in and zeroed, then returned: a quarter of the
    // service's CPU under load (docs/benchmarks.md). Keep such buffers on the heap and reuse their pages;
    // MemoryTrimmer gives them back after large frees.
    mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
#endif
}

qint64 residentBytes()
{
    QFile statm(QStringLiteral("/proc/self/statm"));
    if (!statm.open(QIODevice::ReadOnly))
        return -1;
    const QList<QByteArray> fields = statm.readAll().split(' ');
    bool ok = false;
    const qint64 pages = fields.value(1).toLongLong(&ok);
    return ok ? pages * sysconf(_SC_PAGESIZE) : -1;
}

MemoryTrimmer::MemoryTrimmer(int delayMs, int minIntervalMs, QObject *parent)
    : QObject(parent), m_delayMs(delayMs), m_minIntervalMs(minIntervalMs)
{
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, &MemoryTrimmer::trim);
}

void MemoryTrimmer::request(qint64 freedBytes)
{
    m_pendingBytes += freedBytes;
    if (m_timer.isActive())
        return;
    const qint64 sinceLast = m_last.isValid() ? m_last.elapsed() : m_minIntervalMs;
    m_timer.start(int(std::max<qint64>(m_delayMs, m_minIntervalMs - sinceLast)));
}

void MemoryTrimmer::trim()
{
    const qint64 before = residentBytes();
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
    ++m_trims;
    m_last.start();
    qCDebug(lcMemory).noquote() << QStringLiteral("gave freed memory back after ~%1 KiB were freed: RSS %2 -> %3 KiB")
                                       .arg(m_pendingBytes / 1024)
                                       .arg(before / 1024)
                                       .arg(residentBytes() / 1024);
    m_pendingBytes = 0;
}

} // namespace cr
