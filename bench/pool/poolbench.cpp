#include "bench/pool/poolbench.h"

#include "bench/common/benchwait.h"
#include "bench/common/minihttpclient.h"
#include "bench/common/procstats.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>

namespace cr::bench {

namespace {

const QString kCkptA = QStringLiteral("ckpt_a.safetensors");
const QString kCkptB = QStringLiteral("ckpt_b.safetensors");

} // namespace

PoolBench::PoolBench(const PoolBenchOptions &options, QObject *parent) : QObject(parent), m_options(options) { }

PoolBench::~PoolBench() = default;

QList<qint64> PoolBench::processIds()
{
    QList<qint64> ids;
    if (m_main)
        ids += m_main->processIds();
    for (const auto &stack : m_affinityStacks)
        ids += stack->processIds();
    return ids;
}

bool PoolBench::loadGraph(QString *error)
{
    QFile file(m_options.stack.workflowsDir + u'/' + m_options.stack.workflow + QStringLiteral(".json"));
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read %1").arg(file.fileName());
        return false;
    }
    m_graph = QJsonDocument::fromJson(file.readAll()).object();
    auto has = [this](const char *node, const char *input) {
        return m_graph.value(QLatin1String(node))
            .toObject()
            .value(QStringLiteral("inputs"))
            .toObject()
            .contains(QLatin1String(input));
    };
    if (!has("3", "seed") || !has("5", "width") || !has("4", "ckpt_name")) {
        *error = QStringLiteral("%1 needs node 3 with a seed, node 5 with width and height and node 4 with "
                                "ckpt_name")
                     .arg(file.fileName());
        return false;
    }
    return true;
}

QJsonObject PoolBench::inputsFor(qint64 seed, const QString &ckpt) const
{
    QJsonObject inputs{{QStringLiteral("3.seed"), seed},
                       {QStringLiteral("5.width"), m_options.imageSize},
                       {QStringLiteral("5.height"), m_options.imageSize}};
    if (!ckpt.isEmpty())
        inputs.insert(QStringLiteral("4.ckpt_name"), ckpt);
    return inputs;
}

QJsonObject PoolBench::graphFor(const QJsonObject &values) const
{
    QJsonObject graph = m_graph;
    for (auto it = values.begin(); it != values.end(); ++it) {
        const QString node = it.key().section(u'.', 0, 0);
        QJsonObject n = graph.value(node).toObject();
        QJsonObject inputs = n.value(QStringLiteral("inputs")).toObject();
        inputs.insert(it.key().section(u'.', 1), it.value());
        n.insert(QStringLiteral("inputs"), inputs);
        graph.insert(node, n);
    }
    return graph;
}

bool PoolBench::startRunner(PoolStack &stack, int n, const QString &routing, QString *config, QString *error)
{
    RunnerSetup setup;
    setup.routing = routing;
    setup.maxInFlight = m_options.maxInFlight;
    if (m_poolSupported) {
        bool unsupported = false;
        if (stack.startRunner(n, setup, error, &unsupported)) {
            *config = QStringLiteral("backends");
            return true;
        }
        if (!unsupported)
            return false;
        m_poolSupported = false;
        m_report.addNote(QStringLiteral("this comfy-runner does not know [[backends]] (issue #13 not in this build): "
                                        "N = 1 ran through [comfy] url; N > 1 and the affinity scenario did not run"));
    }
    if (n != 1 || !routing.isEmpty()) {
        *config = QStringLiteral("unsupported");
        return true;
    }
    setup.config = RunnerSetup::Config::Comfy;
    *config = QStringLiteral("comfy");
    return stack.startRunner(1, setup, error);
}

QList<int> PoolBench::simCounters(PoolStack &stack, int n, const char *key)
{
    QList<int> values;
    for (int i = 0; i < n; ++i) {
        MiniHttpClient sim(stack.host(), stack.simPort(i));
        const std::optional<HttpResponse> r = sim.request("GET", "/sim/state", {}, 5000);
        values.append(r ? QJsonDocument::fromJson(r->body).object().value(QLatin1String(key)).toInt() : -1);
    }
    return values;
}

bool PoolBench::runThroughput(QString *error)
{
    const QStringList simArgs{QStringLiteral("--steps"),        QString::number(m_options.steps),
                              QStringLiteral("--step-ms"),      QString::number(m_options.stepMs),
                              QStringLiteral("--node-ms"),      QString::number(m_options.nodeMs),
                              QStringLiteral("--preview-size"), QString::number(m_options.previewSize)};
    const int maxN = *std::max_element(m_options.sizes.cbegin(), m_options.sizes.cend());
    if (m_main->simCount() < maxN && !m_main->startSims(maxN - m_main->simCount(), simArgs, error))
        return false;
    for (int n : std::as_const(m_options.sizes)) {
        QString config;
        if (!startRunner(*m_main, n, QString(), &config, error))
            return false;
        const bool viaRunner = config != u"unsupported"; // otherwise only the direct baseline runs
        if (!viaRunner)
            m_skipped.append(QStringLiteral("throughput N=%1 through the runner (the direct baseline ran)").arg(n));
        QList<quint16> ports;
        for (int i = 0; i < n; ++i)
            ports.append(m_main->simPort(i));
        DirectDriver direct(ports);
        std::unique_ptr<JobDriver> jobs;
        if (!direct.open(error))
            return false;
        if (viaRunner) {
            jobs = std::make_unique<JobDriver>(m_main->host(), m_main->httpPort(), m_main->relayPort(),
                                               m_options.stack.workflow);
            if (!jobs->open(error))
                return false;
        }
        const int window = m_options.window > 0 ? m_options.window : 2 * m_options.maxInFlight * n;
        auto graphs = [this](int count) {
            QList<QJsonObject> list;
            for (int i = 0; i < count; ++i)
                list.append(graphFor(inputsFor(++m_seed)));
            return list;
        };
        auto inputs = [this](int count) {
            QList<QJsonObject> list;
            for (int i = 0; i < count; ++i)
                list.append(inputsFor(++m_seed));
            return list;
        };
        BatchResult b;
        if (!direct.run(graphs(m_options.warmupPerBackend * n), m_options.maxInFlight, m_options.timeoutMs, &b, error)
            || (jobs && !jobs->run(inputs(m_options.warmupPerBackend * n), window, m_options.timeoutMs, &b, error))) {
            *error = QStringLiteral("warm-up, N=%1: %2\n--- comfy-runner log ---\n%3")
                         .arg(n)
                         .arg(*error, m_main->runnerLogTail());
            return false;
        }
        Throughput t;
        t.n = n;
        t.config = viaRunner ? config : QStringLiteral("-");
        t.runnerPrompts = QList<int>(n, 0);
        const int count = m_options.jobsPerBackend * n;
        for (int round = 0; round < m_options.rounds; ++round) {
            for (int k = 0; k < 2; ++k) {
                const bool runnerTurn = (round + k) % 2 == 1; // direct first in even rounds
                if (!runnerTurn) {
                    if (!direct.run(graphs(count), m_options.maxInFlight, m_options.timeoutMs, &b, error))
                        return false;
                    t.directJobs += b.jobs;
                    t.directSeconds += b.seconds();
                    continue;
                }
                if (!jobs)
                    continue;
                const QList<int> before = simCounters(*m_main, n, "prompts_received");
                const qint64 cpu0 = procstats::cpuMs(m_main->runner()->pid());
                if (!jobs->run(inputs(count), window, m_options.timeoutMs, &b, error)) {
                    *error = QStringLiteral("N=%1: %2\n--- comfy-runner log ---\n%3")
                                 .arg(n)
                                 .arg(*error, m_main->runnerLogTail());
                    return false;
                }
                t.runnerCpuMs += procstats::cpuMs(m_main->runner()->pid()) - cpu0;
                t.runnerJobs += b.jobs;
                t.runnerSeconds += b.seconds();
                const QList<int> after = simCounters(*m_main, n, "prompts_received");
                for (int i = 0; i < n; ++i)
                    t.runnerPrompts[i] += after.at(i) - before.at(i);
            }
        }
        m_throughput.append(t);
        direct.close();
        if (jobs)
            jobs->close();
        m_main->stopRunner();
    }
    return true;
}

bool PoolBench::runAffinity(QString *error)
{
    const QStringList simArgs{
        QStringLiteral("--steps"),         QString::number(m_options.steps),
        QStringLiteral("--step-ms"),       QString::number(m_options.stepMs),
        QStringLiteral("--node-ms"),       QString::number(m_options.nodeMs),
        QStringLiteral("--preview-size"),  QString::number(m_options.previewSize),
        QStringLiteral("--model-load-ms"), QString::number(m_options.modelLoadMs),
        QStringLiteral("--models"),        QStringLiteral("checkpoints=%1,%2").arg(kCkptA, kCkptB)};
    for (const QString &routing : {QStringLiteral("affinity"), QStringLiteral("least_loaded")}) {
        // Fresh simulators for each runner: no model loaded, nothing cached.
        auto stack = std::make_unique<PoolStack>(m_options.stack);
        PoolStack &s = *stack;
        m_affinityStacks.push_back(std::move(stack));
        if (!s.startSims(2, simArgs, error))
            return false;
        QString config;
        if (!startRunner(s, 2, routing, &config, error))
            return false;
        if (config == u"unsupported") {
            m_skipped.append(QStringLiteral("affinity"));
            return true;
        }
        JobDriver jobs(s.host(), s.httpPort(), s.relayPort(), m_options.stack.workflow);
        if (!jobs.open(error))
            return false;
        QList<QJsonObject> inputs;
        for (int i = 0; i < m_options.affinityJobs; ++i) {
            const QChar c = m_options.affinityPattern.at(i % m_options.affinityPattern.size());
            inputs.append(inputsFor(++m_seed, c == u'A' ? kCkptA : kCkptB));
        }
        Affinity a;
        a.routing = routing;
        if (!jobs.run(inputs, int(inputs.size()), m_options.timeoutMs, &a.result, error)) {
            *error = QStringLiteral("affinity (%1): %2\n--- comfy-runner log ---\n%3")
                         .arg(routing, *error, s.runnerLogTail());
            return false;
        }
        a.loads = simCounters(s, 2, "model_loads");
        a.prompts = simCounters(s, 2, "prompts_received");
        m_affinity.append(a);
        jobs.close();
        s.stopRunner();
        s.stopSims();
    }
    return true;
}

bool PoolBench::arrivalNs(PoolStack &stack, int n, const QStringList &promptIds, qint64 *ns, QString *error)
{
    for (int i = 0; i < n; ++i) {
        MiniHttpClient sim(stack.host(), stack.simPort(i));
        const std::optional<HttpResponse> r = sim.request("GET", "/sim/prompts", {}, 5000, error);
        if (!r)
            return false;
        const QJsonArray list = QJsonDocument::fromJson(r->body).object().value(QStringLiteral("prompts")).toArray();
        for (const QJsonValue &v : list) {
            const QJsonObject p = v.toObject();
            if (promptIds.contains(p.value(QStringLiteral("prompt_id")).toString())) {
                *ns = qint64(p.value(QStringLiteral("received_mono_ns")).toDouble());
                return true;
            }
        }
    }
    *error = QStringLiteral("no simulator received prompt %1").arg(promptIds.join(u", "));
    return false;
}

bool PoolBench::runOverhead(QString *error)
{
    // The largest N the runner supports, idle backends, one job at a time.
    int n = 1;
    for (int size : std::as_const(m_options.sizes))
        n = m_poolSupported ? qMax(n, size) : 1;
    const QStringList simArgs{QStringLiteral("--steps"),        QString::number(m_options.steps),
                              QStringLiteral("--step-ms"),      QString::number(m_options.stepMs),
                              QStringLiteral("--node-ms"),      QString::number(m_options.nodeMs),
                              QStringLiteral("--preview-size"), QString::number(m_options.previewSize)};
    if (m_main->simCount() < n && !m_main->startSims(n - m_main->simCount(), simArgs, error))
        return false;
    QString config;
    if (!startRunner(*m_main, n, QString(), &config, error))
        return false;
    if (config == u"unsupported") { // cannot happen with n = 1, kept for safety
        m_skipped.append(QStringLiteral("overhead"));
        return true;
    }
    m_overheadN = n;
    QList<quint16> ports;
    for (int i = 0; i < n; ++i)
        ports.append(m_main->simPort(i));
    DirectDriver direct(ports);
    JobDriver jobs(m_main->host(), m_main->httpPort(), m_main->relayPort(), m_options.stack.workflow);
    if (!direct.open(error) || !jobs.open(error))
        return false;
    for (int i = 0; i < m_options.overheadIterations + 2; ++i) { // 2 warm-up rounds
        const bool measured = i >= 2;
        qint64 sent = 0, arrived = 0;
        QString id;
        if (!direct.runOne(i % n, graphFor(inputsFor(++m_seed)), m_options.timeoutMs, &sent, &id, error)
            || !arrivalNs(*m_main, n, {id}, &arrived, error))
            return false;
        if (measured)
            m_overheadDirect.add(double(arrived - sent) / 1000.0);
        if (!jobs.runOne(inputsFor(++m_seed), m_options.timeoutMs, &sent, &id, error))
            return false;
        // The job id is the prompt id today; a pool may add attempts with prompt ids of their own.
        QStringList candidates{id};
        const std::optional<HttpResponse> job = jobs.api().request("GET", "/api/v1/jobs/" + id.toLatin1());
        const QJsonObject o = job ? QJsonDocument::fromJson(job->body).object() : QJsonObject();
        if (o.contains(u"prompt_id"))
            candidates.append(o.value(QStringLiteral("prompt_id")).toString());
        for (const QJsonValue &attempt : o.value(QStringLiteral("attempts")).toArray())
            candidates.append(attempt.toObject().value(QStringLiteral("prompt_id")).toString());
        if (!arrivalNs(*m_main, n, candidates, &arrived, error))
            return false;
        if (measured)
            m_overheadRunner.add(double(arrived - sent) / 1000.0);
    }
    direct.close();
    jobs.close();
    m_main->stopRunner();
    return true;
}

bool PoolBench::run(QString *error)
{
    if (m_options.sizes.isEmpty()) {
        *error = QStringLiteral("no --sizes");
        return false;
    }
    if (!loadGraph(error))
        return false;
    m_main = std::make_unique<PoolStack>(m_options.stack);
    const bool ok = (!m_options.scenarios.contains(u"throughput") || runThroughput(error))
        && (!m_options.scenarios.contains(u"affinity") || runAffinity(error))
        && (!m_options.scenarios.contains(u"overhead") || runOverhead(error));
    if (!ok)
        return false;
    // Everything stops before the report: its CPU time is counted from what was read before each stop.
    m_main->stopRunner();
    m_main->stopSims();
    qint64 exited = m_main->exitedCpuMs();
    for (const auto &stack : m_affinityStacks)
        exited += stack->exitedCpuMs();
    m_report.addExitedCpuMs(exited);
    buildReport();
    return true;
}

} // namespace cr::bench
