#pragma once
// The two ways bench-pool (and bench-cluster) runs a batch of jobs, both from this process's event loop:
//  - DirectDriver: straight to N simulators, as a pool-aware ComfyUI client would: POST /prompt round robin,
//    each simulator kept at max_in_flight prompts, completion from its own WebSocket (`executing` null);
//  - JobDriver: through comfy-runner: POST /api/v1/jobs (no wait), completion from one relay client that asks
//    only for job_finished / job_failed / job_cancelled (envelope=1, previews off: one small frame per job, the
//    least load a client can add; polling GET /api/v1/jobs/{id} would cost a request per poll and job).

#include "bench/common/minihttpclient.h"

#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QSet>
#include <QWebSocket>

#include <memory>
#include <vector>

namespace cr::bench {

// A batch: how many jobs, from the first request written to the last completion (CLOCK_MONOTONIC).
struct BatchResult {
    int jobs = 0;
    qint64 firstSentNs = 0;
    qint64 lastDoneNs = 0;
    double seconds() const { return double(lastDoneNs - firstSentNs) / 1e9; }
    double jobsPerSecond() const { return seconds() > 0 ? jobs / seconds() : 0; }
};

class DirectDriver final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(DirectDriver)

public:
    explicit DirectDriver(const QList<quint16> &simPorts, QObject *parent = nullptr);
    ~DirectDriver() override;

    bool open(QString *error); // one HTTP connection and one WebSocket (feature flags sent) per simulator
    void close();
    // Runs one prompt per graph; simulator i gets the next graph whenever it has fewer than maxInFlight.
    bool run(const QList<QJsonObject> &graphs, int maxInFlight, int timeoutMs, BatchResult *out, QString *error);
    // One prompt on simulator `sim`, waited for; *sentNs: just before the request was written.
    bool runOne(int sim, const QJsonObject &graph, int timeoutMs, qint64 *sentNs, QString *promptId, QString *error);

private:
    struct Sim {
        std::unique_ptr<MiniHttpClient> http;
        std::unique_ptr<QWebSocket> ws;
        QString clientId;
        bool ready = false;
        int inFlight = 0;
    };
    bool submit(int sim, const QJsonObject &graph, QString *promptId, QString *error);
    void onText(int sim, const QString &text);

    QList<quint16> m_ports;
    std::vector<Sim> m_sims;
    QHash<QString, int> m_running; // prompt id -> simulator
    int m_done = 0;
    qint64 m_lastDoneNs = 0;
    QString m_failure; // a prompt that did not succeed
};

class JobDriver final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(JobDriver)

public:
    JobDriver(const QString &host, quint16 httpPort, quint16 relayPort, const QString &workflow,
              QObject *parent = nullptr);

    bool open(QString *error); // the relay client, ready at the answer to its ping
    void close();
    // Runs one job per inputs object, at most `window` unfinished at a time.
    bool run(const QList<QJsonObject> &inputs, int window, int timeoutMs, BatchResult *out, QString *error);
    // One job, waited for; *sentNs: just before POST /api/v1/jobs was written.
    bool runOne(const QJsonObject &inputs, int timeoutMs, qint64 *sentNs, QString *jobId, QString *error);
    MiniHttpClient &api() { return m_api; }

private:
    bool submit(const QJsonObject &inputs, QString *jobId, QString *error);
    void onText(const QString &text);

    QString m_workflow;
    quint16 m_relayPort;
    MiniHttpClient m_api;
    QWebSocket m_ws;
    bool m_ready = false;
    QSet<QString> m_finished;              // job ids with a final event, not yet collected
    QHash<QString, QString> m_failures;    // job id -> its final event when it did not succeed
    QHash<QString, qint64> m_finishedAtNs; // job id -> when its final event arrived
};

} // namespace cr::bench
