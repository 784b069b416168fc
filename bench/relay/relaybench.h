#pragma once
// bench-relay: stamped progress events and previews from the simulator (bench-relay-sim) to K clients,
// either connected straight to the simulator's /ws (the baseline) or to comfy-runner's relay, alternating in
// one run. Three scenarios: paced (one-way latency and loss); throughput (direct flat out, then the relay fed
// at the rate the direct path sustained, then the relay fed flat out); one stalled relay client among K (the
// others' latency and speed, the service's memory, real jobs completing meanwhile).

#include "bench/common/minihttpclient.h"
#include "bench/common/report.h"
#include "bench/common/samples.h"
#include "bench/common/servicestack.h"
#include "bench/relay/stampclient.h"

#include <QJsonObject>
#include <QObject>
#include <QSet>
#include <QTimer>

#include <memory>
#include <vector>

namespace cr::bench {

// bench-relay's knobs (the command line).
struct RelayBenchOptions {
    int clients = 10;            // K
    int rounds = 5;              // direct/relay alternations per scenario (the throughput scenario uses 2 at most)
    int stepMs = 20;             // interval of the paced bursts
    int latencySteps = 1000;     // paced steps per path (split over the rounds)
    int throughputSteps = 1000;  // flat-out steps per path (split over the rounds)
    int warmupSteps = 10;        // before each measured burst, after connecting (excluded)
    int previewPx = 512;         // preview long edge (JPEG, quality 95)
    int stalledSteps = 200;      // paced steps with one stalled client among K
    int stalledFlatSteps = 1000; // steps at the direct path's flat-out rate with one stalled client among K
    int jobs = 3;                // real jobs submitted through the REST API during the stalled scenario
    bool quick = false;
    QString relayQuery; // appended to the relay clients' URL (default: none, the legacy mode)
    QStringList scenarios{QStringLiteral("latency"), QStringLiteral("throughput"), QStringLiteral("stalled")};
    // A second simulator + comfy-runner pair with [metrics] enabled = false: the latency and throughput
    // scenarios run on both, alternating every round, and the report compares them (the cost of the metrics).
    bool metricsAb = false;
    StackOptions stack;
};

// What one path (direct or relay) got in one scenario, summed over its bursts and clients.
struct PathTotals {
    int clients = 0;
    Samples text;    // one-way latency of progress events, µs
    Samples preview; // one-way latency of previews, µs
    quint64 expectedTexts = 0;
    quint64 texts = 0;
    quint64 expectedPreviews = 0;
    quint64 previews = 0;
    quint64 duplicates = 0;
    quint64 outOfOrder = 0;
    qint64 bytes = 0;
    int bursts = 0;
    double seconds = 0;     // per burst: last arrival at any client - first send stamp
    double emitSeconds = 0; // per burst: the simulator's time from the first to the last frame
    qint64 runnerCpuMs = 0;
    qint64 simCpuMs = 0;
    qint64 benchCpuMs = 0; // this process (the clients)
    qint64 otherCpuMs = 0; // everything else on the machine (other processes, the kernel's own threads, steal)

    quint64 lostTexts() const { return expectedTexts - texts; }
    quint64 lostPreviews() const { return expectedPreviews - previews; }
    double mbPerSecond() const { return seconds > 0 ? double(bytes) / seconds / 1e6 : 0; }
    double previewsPerSecond() const { return seconds > 0 ? double(previews) / seconds : 0; }
    QJsonObject toJson() const;
};

class RelayBench final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(RelayBench)

public:
    explicit RelayBench(const RelayBenchOptions &options, QObject *parent = nullptr);
    ~RelayBench() override;

    // Runs every scenario. False (with the reason) when something broke: a process, a burst that did not
    // complete, a JSON event lost by a healthy client, a job that failed. Slow figures are not failures.
    bool run(QString *error);
    Report &report() { return m_report; }
    QList<qint64> processIds();

private:
    using Clients = std::vector<std::unique_ptr<StampClient>>;
    enum class Path { Direct, Relay };

    void onSimLine(const QString &line);
    ServiceStack &stack() { return *m_cur; }
    // The stacks of one round: with metrics, then (--metrics-ab) without, the order swapped every round.
    QList<ServiceStack *> roundStacks(int round);
    bool openClients(Path path, int count, Clients *clients, QString *error);
    bool closeClients(Path path, Clients *clients, int relayClientsLeft, QString *error);
    bool burst(const Clients &clients, int steps, qint64 intervalUs, PathTotals *totals, QString *error);
    int simSockets();
    QJsonObject relayStats();

    bool latencyScenario(QString *error);
    bool throughputScenario(QString *error);
    bool stalledScenario(QString *error);
    void sampleRss();
    void buildReport();
    void latencyReport();
    void throughputReport();
    void stalledReport();
    void metricsReport(); // --metrics-ab

    RelayBenchOptions m_options;
    ServiceStack m_stack;
    ServiceStack m_stackOff;        // --metrics-ab: [metrics] enabled = false
    ServiceStack *m_cur = &m_stack; // the stack the clients, bursts and statistics of the moment use
    std::unique_ptr<MiniHttpClient> m_api;
    std::unique_ptr<MiniHttpClient> m_apiOff;
    quint32 m_burstId = 0;
    QSet<quint32> m_doneBursts;
    int m_simSockets = -1; // the simulator's last answer to "sockets"
    int m_socketAnswers = 0;
    QHash<quint32, std::pair<qint64, qint64>> m_burstEmit; // burst -> (emit µs, bytes per client)
    qint64 m_previewBytes = 0;

    PathTotals m_latency[2];
    PathTotals m_latencyOff[2]; // --metrics-ab: the same on the stack without metrics
    enum ThroughputPath { DirectFlat, RelayAtDirectRate, RelayFlat, ThroughputPaths };
    PathTotals m_throughput[ThroughputPaths];
    PathTotals m_throughputOff[ThroughputPaths];
    qint64 m_directIntervalUs = 0; // the direct path's flat-out step interval (the last round's)
    PathTotals m_stalledPaced;
    PathTotals m_stalledRate; // at the direct path's flat-out rate
    QJsonObject m_stalledInfo;
    qint64 m_rssBaselineKb = 0;
    qint64 m_rssMaxKb = 0;
    QTimer m_rssTimer;
    Report m_report{QStringLiteral("relay")};
};

} // namespace cr::bench
