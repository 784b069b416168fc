#pragma once
// bench-api: the same workflow run three ways, interleaved, against one comfy-sim: straight to the simulator
// (POST /prompt with client_id, wait for `executing null` on the WebSocket, GET /history), through
// comfy-runner's legacy GET /queue, and through POST /api/v1/jobs with wait. Reports the percentiles of each
// and what the service adds.

#include "bench/common/minihttpclient.h"
#include "bench/common/report.h"
#include "bench/common/samples.h"
#include "bench/common/servicestack.h"

#include <QJsonObject>
#include <QObject>
#include <QSet>
#include <QWebSocket>

#include <memory>

namespace cr::bench {

// bench-api's knobs (the command line).
struct ApiBenchOptions {
    int iterations = 200;   // measured runs of each kind
    int warmup = 20;        // runs of each kind before measuring (excluded)
    int steps = 2;          // comfy-sim --steps
    int stepMs = 1;         // comfy-sim --step-ms
    int nodeMs = 0;         // comfy-sim --node-ms
    int imageSize = 64;     // width and height of the generated image (EmptyLatentImage), the same on every path
    int previewSize = 64;   // comfy-sim --preview-size
    int timeoutMs = 60'000; // per run
    bool quick = false;
    // A second comfy-runner (with its own comfy-sim) with [metrics] enabled = false; GET /queue and POST
    // /api/v1/jobs run on both, interleaved, and the report compares them (the cost of the metrics). The
    // direct runs are left out then: their WebSocket client on one simulator would load one side only.
    bool metricsAb = false;
    StackOptions stack;
};

class ApiBench final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ApiBench)

public:
    explicit ApiBench(const ApiBenchOptions &options, QObject *parent = nullptr);
    ~ApiBench() override;

    // Runs everything; false (with the reason) when something did not work, which is not a slow result.
    bool run(QString *error);
    Report &report() { return m_report; }
    QList<qint64> processIds();

private:
    // QueueOff and JobsOff: on the stack without metrics (--metrics-ab only).
    enum Mode { Direct, Queue, Jobs, QueueOff, JobsOff, ModeCount };
    static QString modeName(Mode mode);

    bool setUp(QString *error);
    bool runOnce(Mode mode, qint64 seed, double *us, QString *error);
    bool runDirect(qint64 seed, double *us, QString *error);
    bool runQueue(MiniHttpClient &api, qint64 seed, double *us, QString *error);
    bool runJobs(MiniHttpClient &api, qint64 seed, double *us, QString *error);
    Mode firstMode() const { return m_options.metricsAb ? Queue : Direct; }
    int modeCount() const { return m_options.metricsAb ? ModeCount : QueueOff; } // one past the last mode run
    QJsonObject inputsFor(qint64 seed) const;                                    // {"3.seed", "5.width", "5.height"}
    void onDirectText(const QString &text);
    void buildReport();
    void metricsReport(); // on/off ratios (--metrics-ab)

    ApiBenchOptions m_options;
    ServiceStack m_stack;
    ServiceStack m_stackOff; // --metrics-ab: [metrics] enabled = false
    std::unique_ptr<MiniHttpClient> m_api;
    std::unique_ptr<MiniHttpClient> m_apiOff;
    std::unique_ptr<MiniHttpClient> m_sim;
    QWebSocket m_ws;
    QString m_clientId;
    bool m_wsReady = false;
    QSet<QString> m_finishedPrompts; // `executing` with node null seen on the direct WebSocket
    QJsonObject m_graph;
    Samples m_samples[ModeCount];
    qint64 m_runnerCpuPerMode[ModeCount] = {}; // comfy-runner CPU ms during the measured runs of each kind
    qint64 m_runnerCpuMs = 0;
    qint64 m_simCpuMs = 0;
    Report m_report{QStringLiteral("api")};
};

} // namespace cr::bench
