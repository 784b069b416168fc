#pragma once
// bench-soak: many jobs through comfy-runner against comfy-sim at zero step time, with healthy relay clients
// that must each get every event of every job and stalled clients (they never read) that must neither slow
// the others nor make the service's memory grow. Reports jobs/s and the service's RSS after warm-up and at
// the end. See docs/benchmarks.md ("soak").

#include "bench/common/minihttpclient.h"
#include "bench/common/report.h"
#include "bench/common/servicestack.h"
#include "bench/relay/stalledclient.h"
#include "bench/soak/jobeventclient.h"

#include <QObject>
#include <QStringList>
#include <QTimer>

#include <memory>
#include <vector>

namespace cr::bench {

// bench-soak's knobs (the command line).
struct SoakOptions {
    int jobs = 2000;         // submitted through POST /api/v1/jobs
    int warmupJobs = 200;    // finished before the "after warm-up" RSS and the jobs/s clock start
    int clients = 20;        // relay clients, the stalled ones included
    int stalled = 2;         // clients that never read
    int window = 16;         // jobs submitted but not finished at most (the queue the service holds)
    int steps = 2;           // comfy-sim --steps (each step is a progress event and a preview)
    int previewSize = 64;    // comfy-sim --preview-size
    int timeoutMs = 120'000; // for the whole run to drain after the last submission
    bool quick = false;
    StackOptions stack;
};

class SoakBench final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(SoakBench)

public:
    explicit SoakBench(const SoakOptions &options, QObject *parent = nullptr);
    ~SoakBench() override;

    // Runs everything; false (with the reason) when a job or a healthy client's event went missing.
    bool run(QString *error);
    Report &report() { return m_report; }
    QList<qint64> processIds() { return {m_stack.sim().pid(), m_stack.runner().pid()}; }

private:
    bool setUp(QString *error);
    bool submit(int n, QString *error);
    bool verify(QString *error);
    QJsonObject relayStats();
    int minFinished() const;
    void sampleRss();
    void buildReport();

    SoakOptions m_options;
    ServiceStack m_stack;
    std::unique_ptr<MiniHttpClient> m_api;
    std::vector<std::unique_ptr<JobEventClient>> m_clients;
    std::vector<std::unique_ptr<StalledClient>> m_stalledClients;
    QStringList m_jobIds;
    QTimer m_rssTimer;
    qint64 m_rssStartKb = 0; // after the clients connected, before the first job
    qint64 m_rssWarmKb = 0;  // when warmupJobs had finished
    qint64 m_rssEndKb = 0;   // after the last job's events reached every client
    qint64 m_rssLeftKb = 0;  // then after the stalled clients disconnected (0: none were stalled)
    qint64 m_rssMaxKb = 0;   // sampled every 500 ms
    qint64 m_warmNs = 0;
    qint64 m_endNs = 0;
    qint64 m_startNs = 0;
    qint64 m_runnerCpuMs = 0;
    QJsonObject m_relayEnd; // GET /api/v1/system "relay" at the end
    QStringList m_problems; // what verify() found, for the report
    Report m_report{QStringLiteral("soak")};
};

} // namespace cr::bench
