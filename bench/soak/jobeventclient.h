#pragma once
// One healthy relay client of bench-soak: a QWebSocket with envelope=1&previews=off that records every JSON
// event it gets, by job and type, and checks that the envelope's seq numbers follow each other with no hole
// (the relay numbers every JSON event, and this client filters none). Ready at the answer to a relay ping.

#include <QHash>
#include <QObject>
#include <QString>
#include <QWebSocket>

namespace cr::bench {

// What one client got of one job.
struct JobTally {
    int queued = 0;
    int started = 0;
    int progress = 0; // job_progress
    int finished = 0;
    int failed = 0; // job_failed or job_cancelled
    int images = 0; // image_generated
    int events = 0; // every JSON event of the job (ComfyUI's too)
    bool operator==(const JobTally &) const = default;
};

class JobEventClient final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(JobEventClient)

public:
    explicit JobEventClient(int index, QObject *parent = nullptr);

    void open(quint16 relayPort);
    void close();
    bool isReady() const { return m_ready; }
    bool isConnected() const { return m_ws.state() == QAbstractSocket::ConnectedState; }
    int index() const { return m_index; }

    const QHash<QString, JobTally> &jobs() const { return m_jobs; }
    int finishedJobs() const { return m_finished; } // jobs with job_finished or job_failed/cancelled
    qint64 events() const { return m_events; }
    qint64 firstSeq() const { return m_firstSeq; }
    qint64 lastSeq() const { return m_lastSeq; }
    qint64 seqHoles() const { return m_seqHoles; } // events missing between two received seqs
    int gaps() const { return m_gaps; }            // relay_gap messages
    int closeCode() const { return m_closeCode; }  // 0 while open / never closed by the relay

private:
    void onText(const QString &text);

    int m_index;
    QWebSocket m_ws;
    bool m_ready = false;
    QHash<QString, JobTally> m_jobs;
    int m_finished = 0;
    qint64 m_events = 0;
    qint64 m_firstSeq = 0;
    qint64 m_lastSeq = 0;
    qint64 m_seqHoles = 0;
    int m_gaps = 0;
    int m_closeCode = 0;
};

} // namespace cr::bench
