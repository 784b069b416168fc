#pragma once
// One benchmark client (a QWebSocket, connected to comfy-sim's /ws or to the relay in its default legacy
// mode) that records the stamped frames of the current burst: arrival time of every progress event and
// preview by step, their one-way latency, bytes, and the burst's end marker.

#include "bench/common/samples.h"

#include <QObject>
#include <QUrl>
#include <QWebSocket>

#include <vector>

namespace cr::bench {

// What one client got of one burst.
struct BurstTally {
    quint32 burst = 0;
    quint32 steps = 0;
    std::vector<qint64> textAt;    // arrival (monotonic ns) by step, 0 = not received
    std::vector<qint64> previewAt; // idem for previews
    quint32 texts = 0;
    quint32 previews = 0;
    quint32 duplicates = 0;
    quint32 outOfOrder = 0; // a progress event older than one already received
    qint64 bytes = 0;       // payload bytes of the burst's progress events and previews
    qint64 firstNs = 0;     // first and last arrival of a progress event or preview
    qint64 lastNs = 0;
    qint64 endNs = 0;        // the bench_end marker, 0 = not yet
    qint64 firstStampNs = 0; // the earliest send stamp seen (the burst's start as the simulator saw it)
};

class StampClient final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(StampClient)

public:
    enum class Target { Direct, Relay };
    StampClient(Target target, int index, QObject *parent = nullptr);

    // Direct: ws://sim/ws?clientId=…, ready at the first `status`. Relay: ws://relay/, ready at the answer to a
    // relay ping (the relay has registered it).
    void open(quint16 port, const QString &relayQuery = {}); // relayQuery: e.g. "previews=off" (relay only)
    bool isReady() const { return m_ready; }
    bool isConnected() const { return m_ws.state() == QAbstractSocket::ConnectedState; }
    bool isClosed() const { return m_ws.state() == QAbstractSocket::UnconnectedState; }
    void close();

    // Starts recording burst `burst`; latencies go to the given sets (none: the burst is a warm-up).
    void expect(quint32 burst, quint32 steps, Samples *textLatency, Samples *previewLatency);
    // The end marker arrived, and every preview or nothing for quietNs since the last frame.
    bool burstDone(qint64 nowNs, qint64 quietNs) const;
    const BurstTally &tally() const { return m_tally; }
    quint64 otherFrames() const { return m_other; }

private:
    void onText(const QString &text);
    void onBinary(const QByteArray &frame);
    void noteData(qint64 now, qint64 stampNs, qsizetype bytes);

    Target m_target;
    int m_index;
    QWebSocket m_ws;
    bool m_ready = false;
    BurstTally m_tally;
    Samples *m_textLatency = nullptr;
    Samples *m_previewLatency = nullptr;
    quint32 m_highestText = 0;
    quint64 m_other = 0;
};

} // namespace cr::bench
