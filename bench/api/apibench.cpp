#include "bench/api/apibench.h"

#include "bench/common/benchwait.h"
#include "bench/common/procstats.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QUrlQuery>
#include <QUuid>

#include <tuple>

namespace cr::bench {

namespace {

QJsonObject parseObject(const QByteArray &body) { return QJsonDocument::fromJson(body).object(); }

QString bodyHint(const HttpResponse &r)
{
    return QStringLiteral("HTTP %1: %2").arg(r.status).arg(QString::fromUtf8(r.body.left(300)));
}

} // namespace

ApiBench::ApiBench(const ApiBenchOptions &options, QObject *parent) : QObject(parent), m_options(options)
{
    connect(&m_ws, &QWebSocket::textMessageReceived, this, &ApiBench::onDirectText);
}

ApiBench::~ApiBench()
{
    m_ws.abort();
    m_stack.stop();
    m_stackOff.stop();
}

QList<qint64> ApiBench::processIds()
{
    QList<qint64> ids{m_stack.sim().pid(), m_stack.runner().pid()};
    if (m_options.metricsAb)
        ids << m_stackOff.sim().pid() << m_stackOff.runner().pid();
    return ids;
}

QString ApiBench::modeName(Mode mode)
{
    switch (mode) {
    case Direct:
        return QStringLiteral("direct to comfy-sim");
    case Queue:
        return QStringLiteral("GET /queue");
    case Jobs:
        return QStringLiteral("POST /api/v1/jobs wait");
    case QueueOff:
        return QStringLiteral("GET /queue, metrics off");
    case JobsOff:
        return QStringLiteral("POST /api/v1/jobs wait, metrics off");
    case ModeCount:
        break;
    }
    return {};
}

bool ApiBench::setUp(QString *error)
{
    StackOptions stack = m_options.stack;
    stack.simArguments
        = {QStringLiteral("--steps"),         QString::number(m_options.steps),      QStringLiteral("--step-ms"),
           QString::number(m_options.stepMs), QStringLiteral("--node-ms"),           QString::number(m_options.nodeMs),
           QStringLiteral("--preview-size"),  QString::number(m_options.previewSize)};
    if (!m_stack.start(stack, error))
        return false;
    if (m_options.metricsAb) {
        StackOptions off = stack;
        off.extraConfig = "\n[metrics]\nenabled = false\n";
        if (!m_stackOff.start(off, error))
            return false;
        m_apiOff = std::make_unique<MiniHttpClient>(m_stackOff.host(), m_stackOff.httpPort());
    }

    QFile file(stack.workflowsDir + u'/' + stack.workflow + QStringLiteral(".json"));
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read %1").arg(file.fileName());
        return false;
    }
    m_graph = QJsonDocument::fromJson(file.readAll()).object();
    auto hasInput = [this](const char *node, const char *input) {
        const QJsonObject inputs
            = m_graph.value(QLatin1String(node)).toObject().value(QStringLiteral("inputs")).toObject();
        return inputs.contains(QLatin1String(input));
    };
    if (!hasInput("3", "seed") || !hasInput("5", "width")) {
        *error = QStringLiteral(
                     "%1 needs node 3 with a seed (varied so that no run is cached) and node 5 with width and height")
                     .arg(file.fileName());
        return false;
    }

    m_api = std::make_unique<MiniHttpClient>(m_stack.host(), m_stack.httpPort());
    m_sim = std::make_unique<MiniHttpClient>(m_stack.host(), m_stack.simPort());

    if (m_options.metricsAb)
        return true; // no direct runs
    // The direct client behaves like comfy-runner's own connection: its client id, feature flags first.
    m_clientId = QStringLiteral("bench-api-") + QUuid::createUuid().toString(QUuid::Id128).left(12);
    connect(&m_ws, &QWebSocket::connected, this, [this] {
        m_ws.sendTextMessage(
            QStringLiteral(R"({"type": "feature_flags", "data": {"supports_preview_metadata": true}})"));
    });
    QUrl url(QStringLiteral("ws://127.0.0.1:%1/ws").arg(m_stack.simPort()));
    url.setQuery(QUrlQuery{{QStringLiteral("clientId"), m_clientId}});
    m_ws.open(url);
    if (!waitUntil([this] { return m_wsReady; }, 10'000)) {
        *error = QStringLiteral("the direct WebSocket to comfy-sim did not open: %1").arg(m_ws.errorString());
        return false;
    }
    return true;
}

void ApiBench::onDirectText(const QString &text)
{
    if (text.contains(QLatin1String("\"feature_flags\""))) {
        m_wsReady = true;
        return;
    }
    if (!text.contains(QLatin1String("\"executing\"")))
        return;
    const QJsonObject data = QJsonDocument::fromJson(text.toUtf8()).object().value(QStringLiteral("data")).toObject();
    if (data.value(QStringLiteral("node")).isNull())
        m_finishedPrompts.insert(data.value(QStringLiteral("prompt_id")).toString());
}

bool ApiBench::runDirect(qint64 seed, double *us, QString *error)
{
    QJsonObject graph = m_graph;
    const QJsonObject values = inputsFor(seed);
    for (auto it = values.begin(); it != values.end(); ++it) {
        const QString node = it.key().section(u'.', 0, 0);
        QJsonObject n = graph.value(node).toObject();
        QJsonObject inputs = n.value(QStringLiteral("inputs")).toObject();
        inputs.insert(it.key().section(u'.', 1), it.value());
        n.insert(QStringLiteral("inputs"), inputs);
        graph.insert(node, n);
    }
    const QString promptId = QUuid::createUuid().toString(QUuid::WithoutBraces);
    // What comfy-runner sends (ComfyHttp::submitPrompt): the graph, our prompt id, client_id, preview method.
    const QByteArray body
        = QJsonDocument(QJsonObject{{QStringLiteral("prompt"), graph},
                                    {QStringLiteral("prompt_id"), promptId},
                                    {QStringLiteral("client_id"), m_clientId},
                                    {QStringLiteral("extra_data"),
                                     QJsonObject{{QStringLiteral("preview_method"), QStringLiteral("auto")},
                                                 {QStringLiteral("client_id"), m_clientId}}}})
              .toJson(QJsonDocument::Compact);
    if (!m_sim->ensureConnected()) {
        *error = QStringLiteral("cannot connect to comfy-sim");
        return false;
    }

    const qint64 t0 = monotonicNs();
    const std::optional<HttpResponse> submitted = m_sim->request("POST", "/prompt", body, m_options.timeoutMs, error);
    if (!submitted)
        return false;
    if (submitted->status != 200) {
        *error = QStringLiteral("POST /prompt: %1").arg(bodyHint(*submitted));
        return false;
    }
    if (!waitUntil([&] { return m_finishedPrompts.contains(promptId); }, m_options.timeoutMs)) {
        *error = QStringLiteral("no `executing null` for %1 within %2 ms").arg(promptId).arg(m_options.timeoutMs);
        return false;
    }
    const std::optional<HttpResponse> history
        = m_sim->request("GET", "/history/" + promptId.toLatin1(), {}, m_options.timeoutMs, error);
    if (!history)
        return false;
    const QJsonObject entry = parseObject(history->body).value(promptId).toObject();
    const QString status
        = entry.value(QStringLiteral("status")).toObject().value(QStringLiteral("status_str")).toString();
    const qint64 t1 = monotonicNs();

    m_finishedPrompts.remove(promptId);
    if (history->status != 200 || status != u"success" || entry.value(QStringLiteral("outputs")).toObject().isEmpty()) {
        *error = QStringLiteral("GET /history/%1: %2").arg(promptId, bodyHint(*history));
        return false;
    }
    *us = double(t1 - t0) / 1000.0;
    return true;
}

bool ApiBench::runQueue(MiniHttpClient &api, qint64 seed, double *us, QString *error)
{
    // Untimed: a new seed in the draft, so that ComfyUI's cache does not skip the sampler.
    const QByteArray patch
        = QJsonDocument(QJsonObject{{QStringLiteral("inputs"), inputsFor(seed)}}).toJson(QJsonDocument::Compact);
    const std::optional<HttpResponse> patched
        = api.request("PATCH", "/api/v1/draft", patch, m_options.timeoutMs, error);
    if (!patched)
        return false;
    if (patched->status != 200) {
        *error = QStringLiteral("PATCH /api/v1/draft: %1").arg(bodyHint(*patched));
        return false;
    }

    const qint64 t0 = monotonicNs();
    const std::optional<HttpResponse> r = api.request("GET", "/queue", {}, m_options.timeoutMs, error);
    if (!r)
        return false;
    const QJsonObject answer = parseObject(r->body);
    const qint64 t1 = monotonicNs();
    if (r->status != 200 || answer.value(QStringLiteral("status")).toString() != u"success"
        || answer.value(QStringLiteral("images")).toArray().isEmpty()) {
        *error = QStringLiteral("GET /queue: %1").arg(bodyHint(*r));
        return false;
    }
    *us = double(t1 - t0) / 1000.0;
    return true;
}

bool ApiBench::runJobs(MiniHttpClient &api, qint64 seed, double *us, QString *error)
{
    const QByteArray body = QJsonDocument(QJsonObject{{QStringLiteral("workflow"), m_options.stack.workflow},
                                                      {QStringLiteral("inputs"), inputsFor(seed)},
                                                      {QStringLiteral("wait"), true}})
                                .toJson(QJsonDocument::Compact);
    if (!api.ensureConnected()) {
        *error = QStringLiteral("cannot connect to comfy-runner");
        return false;
    }
    const qint64 t0 = monotonicNs();
    const std::optional<HttpResponse> r = api.request("POST", "/api/v1/jobs", body, m_options.timeoutMs, error);
    if (!r)
        return false;
    const QJsonObject job = parseObject(r->body);
    const qint64 t1 = monotonicNs();
    if (r->status != 200 || job.value(QStringLiteral("state")).toString() != u"succeeded"
        || job.value(QStringLiteral("outputs")).toArray().isEmpty()) {
        *error = QStringLiteral("POST /api/v1/jobs: %1").arg(bodyHint(*r));
        return false;
    }
    *us = double(t1 - t0) / 1000.0;
    return true;
}

QJsonObject ApiBench::inputsFor(qint64 seed) const
{
    return QJsonObject{{QStringLiteral("3.seed"), seed},
                       {QStringLiteral("5.width"), m_options.imageSize},
                       {QStringLiteral("5.height"), m_options.imageSize}};
}

bool ApiBench::runOnce(Mode mode, qint64 seed, double *us, QString *error)
{
    switch (mode) {
    case Direct:
        return runDirect(seed, us, error);
    case Queue:
        return runQueue(*m_api, seed, us, error);
    case Jobs:
        return runJobs(*m_api, seed, us, error);
    case QueueOff:
        return runQueue(*m_apiOff, seed, us, error);
    case JobsOff:
        return runJobs(*m_apiOff, seed, us, error);
    case ModeCount:
        break;
    }
    return false;
}

bool ApiBench::run(QString *error)
{
    if (!setUp(error))
        return false;
    const qint64 runnerPid = m_stack.runner().pid();
    const qint64 runnerOffPid = m_options.metricsAb ? m_stackOff.runner().pid() : 0;
    const qint64 simPid = m_stack.sim().pid();
    qint64 seed = 1000;
    // Interleaved, with the order rotating every round, so that drift (caches, CPU frequency, history growing
    // in the simulator) affects the three kinds alike.
    for (int round = 0; round < m_options.warmup + m_options.iterations; ++round) {
        const bool measured = round >= m_options.warmup;
        const int kinds = modeCount() - firstMode();
        for (int k = 0; k < kinds; ++k) {
            const Mode mode = Mode(firstMode() + (round + k) % kinds);
            const qint64 pid = mode == QueueOff || mode == JobsOff ? runnerOffPid : runnerPid;
            const qint64 cpu0 = procstats::cpuMs(pid);
            double us = 0;
            QString why;
            if (!runOnce(mode, ++seed, &us, &why)) {
                *error = QStringLiteral("%1 failed in round %2: %3\n--- comfy-runner log ---\n%4")
                             .arg(modeName(mode))
                             .arg(round)
                             .arg(why, m_stack.runner().logTail());
                return false;
            }
            if (measured) {
                m_samples[mode].add(us);
                m_runnerCpuPerMode[mode] += procstats::cpuMs(pid) - cpu0;
            }
        }
    }
    m_runnerCpuMs = procstats::cpuMs(runnerPid);
    m_simCpuMs = procstats::cpuMs(simPid);
    buildReport();
    return true;
}

void ApiBench::buildReport()
{
    QJsonObject &json = m_report.json();
    json.insert(QStringLiteral("config"),
                QJsonObject{{QStringLiteral("iterations"), m_options.iterations},
                            {QStringLiteral("warmup"), m_options.warmup},
                            {QStringLiteral("steps"), m_options.steps},
                            {QStringLiteral("step_ms"), m_options.stepMs},
                            {QStringLiteral("node_ms"), m_options.nodeMs},
                            {QStringLiteral("image_size"), m_options.imageSize},
                            {QStringLiteral("preview_size"), m_options.previewSize},
                            {QStringLiteral("workflow"), m_options.stack.workflow},
                            {QStringLiteral("quick"), m_options.quick}});
    const char *keys[ModeCount] = {"direct", "queue", "jobs", "queue_metrics_off", "jobs_metrics_off"};
    QJsonObject latency;
    QList<QStringList> rows;
    const Samples &base = m_samples[Direct];
    for (int m = firstMode(); m < modeCount(); ++m) {
        const Samples &s = m_samples[m];
        QJsonObject entry = s.summary();
        const double cpu = double(m_runnerCpuPerMode[m]);
        entry.insert(QStringLiteral("runner_cpu_us_per_run"),
                     s.isEmpty() ? 0 : std::round(cpu * 1000.0 / double(s.count())));
        QStringList row{modeName(Mode(m)),
                        QString::number(s.count()),
                        fmt(s.percentile(50) / 1000, 2),
                        fmt(s.percentile(90) / 1000, 2),
                        fmt(s.percentile(99) / 1000, 2),
                        fmt(s.mean() / 1000, 2),
                        fmt(s.max() / 1000, 2)};
        if (m != Direct && !base.isEmpty()) {
            const QJsonObject added{{QStringLiteral("p50"), std::round(s.percentile(50) - base.percentile(50))},
                                    {QStringLiteral("p90"), std::round(s.percentile(90) - base.percentile(90))},
                                    {QStringLiteral("p99"), std::round(s.percentile(99) - base.percentile(99))}};
            entry.insert(QStringLiteral("added_us"), added);
            row << fmt((s.percentile(50) - base.percentile(50)) / 1000, 2)
                << fmt((s.percentile(99) - base.percentile(99)) / 1000, 2);
        } else {
            row << QStringLiteral("-") << QStringLiteral("-");
        }
        row << fmt(entry.value(QStringLiteral("runner_cpu_us_per_run")).toDouble() / 1000, 2);
        rows.append(row);
        latency.insert(QLatin1String(keys[m]), entry);
    }
    json.insert(QStringLiteral("latency_us"), latency);
    json.insert(QStringLiteral("cpu_ms_total"),
                QJsonObject{{QStringLiteral("comfy_runner"), double(m_runnerCpuMs)},
                            {QStringLiteral("comfy_sim"), double(m_simCpuMs)}});
    m_report.addTable(QStringLiteral("End-to-end latency, ms (sd15_txt2img %1x%1, --steps %2 --step-ms %3 --node-ms %4 "
                                     "--preview-size %5; %6 runs each after %7 warm-up)")
                          .arg(m_options.imageSize)
                          .arg(m_options.steps)
                          .arg(m_options.stepMs)
                          .arg(m_options.nodeMs)
                          .arg(m_options.previewSize)
                          .arg(m_options.iterations)
                          .arg(m_options.warmup),
                      {QStringLiteral("path"), QStringLiteral("n"), QStringLiteral("p50"), QStringLiteral("p90"),
                       QStringLiteral("p99"), QStringLiteral("mean"), QStringLiteral("max"), QStringLiteral("+p50"),
                       QStringLiteral("+p99"), QStringLiteral("svc cpu/run")},
                      rows);
    if (!base.isEmpty()) {
        m_report.addTarget(QStringLiteral("GET /queue added latency p50"),
                           (m_samples[Queue].percentile(50) - base.percentile(50)) / 1000, 5, true,
                           QStringLiteral("ms"));
        m_report.addTarget(QStringLiteral("POST /api/v1/jobs added latency p50"),
                           (m_samples[Jobs].percentile(50) - base.percentile(50)) / 1000, 5, true,
                           QStringLiteral("ms"));
    }
    m_report.addNote(
        QStringLiteral("svc cpu/run: comfy-runner's CPU time per run (from /proc, 10 ms ticks, averaged)"));
    if (m_options.metricsAb)
        metricsReport();
}

void ApiBench::metricsReport()
{
    // on / off for each route: > 1 means slower (or less throughput: off / on) with the metrics.
    QJsonObject json;
    QList<QStringList> rows;
    for (const auto &[on, off, key] : {std::tuple{Queue, QueueOff, "queue"}, std::tuple{Jobs, JobsOff, "jobs"}}) {
        const Samples &a = m_samples[on];
        const Samples &b = m_samples[off];
        auto ratio = [](double x, double y) { return y > 0 ? x / y : 0.0; };
        const double p50 = ratio(a.percentile(50), b.percentile(50));
        const double p99 = ratio(a.percentile(99), b.percentile(99));
        const double throughput = ratio(1e6 / qMax(1.0, a.mean()), 1e6 / qMax(1.0, b.mean())); // sequential runs/s
        json.insert(QLatin1String(key),
                    QJsonObject{{QStringLiteral("p50_ratio"), p50},
                                {QStringLiteral("p99_ratio"), p99},
                                {QStringLiteral("throughput_ratio"), throughput}});
        rows.append({modeName(on), fmt(a.percentile(50) / 1000, 2), fmt(b.percentile(50) / 1000, 2), fmt(p50, 3),
                     fmt(a.percentile(99) / 1000, 2), fmt(b.percentile(99) / 1000, 2), fmt(p99, 3),
                     fmt(throughput, 3)});
        m_report.addTarget(QStringLiteral("%1 p50, metrics on / off").arg(modeName(on)), p50, 1.02, true, QString());
    }
    m_report.json().insert(QStringLiteral("metrics_on_off"), json);
    m_report.addTable(QStringLiteral("Metrics on / off (two comfy-runner + comfy-sim pairs, runs interleaved), ms"),
                      {QStringLiteral("path"), QStringLiteral("p50 on"), QStringLiteral("p50 off"),
                       QStringLiteral("p50 on/off"), QStringLiteral("p99 on"), QStringLiteral("p99 off"),
                       QStringLiteral("p99 on/off"), QStringLiteral("runs/s on/off")},
                      rows);
}

} // namespace cr::bench
