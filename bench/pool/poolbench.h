#pragma once
// bench-pool (issue #13): comfy-runner in front of a pool of simulated ComfyUIs, each figure with its baseline in
// the same run.
//  - throughput: N = 1, 2, 4 simulators at a fixed step time; jobs/s driven straight (round robin, each kept at
//    max_in_flight, completion from their WebSockets) against jobs/s through one comfy-runner with N
//    [[backends]] (POST /api/v1/jobs, completion from the relay), batches interleaved over rounds;
//  - affinity: two simulators with --model-load-ms and two checkpoints each, a mixed workload of both
//    checkpoints, total time with [jobs] routing = "affinity" against "least_loaded" (two runners, fresh
//    simulators each);
//  - overhead: per job, from the request written to the simulator handling POST /prompt (its CLOCK_MONOTONIC
//    stamp, GET /sim/prompts), one job at a time on idle backends, through the runner minus straight.

#include "bench/common/report.h"
#include "bench/common/samples.h"
#include "bench/common/servicestack.h"
#include "bench/common/drivers.h"
#include "bench/pool/poolstack.h"

#include <QJsonObject>
#include <QObject>

#include <memory>
#include <vector>

namespace cr::bench {

struct PoolBenchOptions {
    QList<int> sizes{1, 2, 4}; // N of the throughput scenario
    int jobsPerBackend = 40;   // measured jobs per batch = this x N
    int warmupPerBackend = 2;  // unmeasured jobs per path and N
    int rounds = 2;            // direct and runner batches per N, alternating which goes first
    int steps = 4;             // comfy-sim --steps
    int stepMs = 25;           // comfy-sim --step-ms
    int nodeMs = 0;            // comfy-sim --node-ms
    int previewSize = 64;      // comfy-sim --preview-size
    int imageSize = 64;        // EmptyLatentImage width and height
    int maxInFlight = 2;       // [[backends]] max_in_flight, and the direct driver's per simulator
    int window = 0;            // unfinished runner jobs at most; 0 = 2 x max_in_flight x N
    int affinityJobs = 16;     // jobs of the mixed workload
    int modelLoadMs = 2000;    // comfy-sim --model-load-ms in the affinity scenario
    QString affinityPattern = QStringLiteral("AABB"); // checkpoints of consecutive jobs, repeated
    int overheadIterations = 30;                      // jobs per path in the overhead scenario
    QStringList scenarios{QStringLiteral("throughput"), QStringLiteral("affinity"), QStringLiteral("overhead")};
    int timeoutMs = 120'000;
    bool quick = false;
    StackOptions stack;
};

class PoolBench final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(PoolBench)

public:
    explicit PoolBench(const PoolBenchOptions &options, QObject *parent = nullptr);
    ~PoolBench() override;

    bool run(QString *error);
    Report &report() { return m_report; }
    QList<qint64> processIds();

private:
    struct Throughput {
        int n = 0;
        QString config;                              // "backends" or "comfy"
        int directJobs = 0, runnerJobs = 0;          // summed over the rounds
        double directSeconds = 0, runnerSeconds = 0; // idem
        double directRate() const { return directSeconds > 0 ? directJobs / directSeconds : 0; }
        double runnerRate() const { return runnerSeconds > 0 ? runnerJobs / runnerSeconds : 0; }
        QList<int> runnerPrompts; // prompts each simulator got from the runner in the measured batches
        qint64 runnerCpuMs = 0;   // comfy-runner's CPU time during its measured batches
    };
    struct Affinity {
        QString routing;
        BatchResult result;
        QList<int> loads, prompts; // per simulator
    };

    bool loadGraph(QString *error);
    QJsonObject inputsFor(qint64 seed, const QString &ckpt = {}) const; // "node.input" -> value
    QJsonObject graphFor(const QJsonObject &inputs) const;              // the workflow with them applied
    bool startRunner(PoolStack &stack, int n, const QString &routing, QString *config, QString *error);
    QList<int> simCounters(PoolStack &stack, int n, const char *key); // /sim/state `key` per simulator
    bool runThroughput(QString *error);
    bool runAffinity(QString *error);
    bool runOverhead(QString *error);
    bool arrivalNs(PoolStack &stack, int n, const QStringList &promptIds, qint64 *ns, QString *error);
    void buildReport();

    PoolBenchOptions m_options;
    QJsonObject m_graph;
    qint64 m_seed = 5000;
    bool m_poolSupported = true;
    QStringList m_skipped;
    std::unique_ptr<PoolStack> m_main; // throughput and overhead
    std::vector<std::unique_ptr<PoolStack>> m_affinityStacks;
    QList<Throughput> m_throughput;
    QList<Affinity> m_affinity;
    Samples m_overheadDirect, m_overheadRunner; // microseconds
    int m_overheadN = 0;
    Report m_report{QStringLiteral("pool")};
};

} // namespace cr::bench
