#pragma once
// bench-cluster (issue #14): comfy-runner processes sharing one job store, in front of zero-time simulators
// (comfy-sim --steps 1 --step-ms 0 --node-ms 0, one per runner), each configuration with its baseline in the
// same run: the same simulators driven straight (POST /prompt), and SQLite with one runner.
//  - burst: `jobs` jobs submitted round robin to the runners while every backend is drained (they wait in the
//    store's queue), then every backend resumed: jobs/s = jobs / (the first resume written -> the last run
//    ended at a simulator); handover latency per job = the simulator received its prompt - the moment it could
//    have been handed over: the later of its runner's resume written and the end of the run that freed its
//    slot (the prompt max_in_flight places earlier at the same simulator, which runs one at a time in order).
//    The direct baseline: all prompts at once, each simulator kept at max_in_flight, the same measure from
//    its first request written.
//  - idle: one job at a time on idle backends, POST /api/v1/jobs written -> the simulator received the
//    prompt (round robin over the runners); the direct baseline: POST /prompt written -> received.
// Every job must succeed exactly once: the simulators together saw each job's prompt once and no other,
// every runner lists them all as succeeded; anything else ends the run with exit code 1.

#include "bench/cluster/clusterstack.h"
#include "bench/common/report.h"
#include "bench/common/samples.h"

#include <QHash>
#include <QJsonObject>
#include <QObject>

namespace cr::bench {

struct ClusterBenchOptions {
    QStringList configs{QStringLiteral("sqlite-1"), QStringLiteral("pg-1"), QStringLiteral("pg-3")};
    int jobs = 600;      // jobs of a burst
    int warmup = 10;     // unmeasured jobs per configuration, through the runners
    int idleJobs = 60;   // jobs of the idle scenario
    int maxInFlight = 2; // [[backends]] max_in_flight and the direct driver's per simulator
    int imageSize = 64;  // EmptyLatentImage width and height (the simulator's image costs little)
    int leaseS = 15;
    int timeoutMs = 120'000;
    bool quick = false;
    StackOptions stack;
};

class ClusterBench final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ClusterBench)

public:
    explicit ClusterBench(const ClusterBenchOptions &options, QObject *parent = nullptr);
    ~ClusterBench() override;

    bool run(QString *error);
    Report &report() { return m_report; }
    QList<qint64> processIds();

    // One prompt at a simulator, from GET /sim/prompts.
    struct Arrival {
        QString promptId;
        qint64 receivedNs = 0, finishedNs = 0;
    };

private:
    struct Result {
        QString config, engine;
        int runners = 0;
        int jobs = 0;
        double seconds = 0, directSeconds = 0;        // burst: first resume (direct: first request) -> last run ended
        Samples burst, directBurst, idle, directIdle; // microseconds
        QList<int> promptsPerSim;                     // the burst's prompts at each simulator
        qint64 runnerCpuMs = 0;                       // every runner's CPU time during the burst
        double rate() const { return seconds > 0 ? jobs / seconds : 0; }
        double directRate() const { return directSeconds > 0 ? jobs / directSeconds : 0; }
    };

    bool runConfig(const QString &config, QString *error);
    bool runDirect(ClusterStack &stack, Result &r, QString *error);
    bool runBurst(ClusterStack &stack, Result &r, QString *error);
    bool runIdle(ClusterStack &stack, Result &r, QString *error);
    bool submit(ClusterStack &stack, int count, QStringList *ids, QString *error);  // round robin, concurrently
    bool waitSucceeded(ClusterStack &stack, int total, QString *error);             // on every runner
    bool arrivals(ClusterStack &stack, QList<QList<Arrival>> *out, QString *error); // per simulator
    bool backendsCall(ClusterStack &stack, const QByteArray &what, QList<qint64> *writtenNs, QString *error);
    QJsonObject graph();  // the workflow with the next seed (the direct path)
    QJsonObject inputs(); // the next seed (through the runners)
    void buildReport();

    ClusterBenchOptions m_options;
    QJsonObject m_graph;
    qint64 m_seed = 9000;
    int m_submitted = 0; // jobs submitted to the current configuration's runners
    std::unique_ptr<ClusterStack> m_stack;
    QList<Result> m_results;
    qint64 m_exitedCpuMs = 0;
    Report m_report{QStringLiteral("cluster")};
};

// The handover latencies (microseconds) of the prompts `measured` selects at one simulator: received minus
// the later of `startNs` and the end of the prompt `maxInFlight` places earlier. *lastFinishedNs: the latest
// end among them.
void handoverLatencies(const QList<ClusterBench::Arrival> &list, int maxInFlight, qint64 startNs,
                       const std::function<bool(const ClusterBench::Arrival &)> &measured, Samples *out,
                       qint64 *lastFinishedNs);

} // namespace cr::bench
