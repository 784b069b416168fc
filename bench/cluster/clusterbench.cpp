#include "bench/cluster/clusterbench.h"

#include "bench/common/benchwait.h"
#include "bench/common/drivers.h"
#include "bench/common/minihttpclient.h"
#include "bench/common/procstats.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QSet>

#include <algorithm>
#include <vector>

namespace cr::bench {

void handoverLatencies(const QList<ClusterBench::Arrival> &list, int maxInFlight, qint64 startNs,
                       const std::function<bool(const ClusterBench::Arrival &)> &measured, Samples *out,
                       qint64 *lastFinishedNs)
{
    for (qsizetype i = 0; i < list.size(); ++i) {
        const ClusterBench::Arrival &a = list.at(i);
        if (!measured(a))
            continue;
        qint64 ready = startNs;
        if (i >= maxInFlight)
            ready = qMax(ready, list.at(i - maxInFlight).finishedNs);
        out->add(double(a.receivedNs - ready) / 1000.0);
        *lastFinishedNs = qMax(*lastFinishedNs, a.finishedNs);
    }
}

ClusterBench::ClusterBench(const ClusterBenchOptions &options, QObject *parent)
    : QObject(parent), m_options(options) { }

ClusterBench::~ClusterBench() = default;

QList<qint64> ClusterBench::processIds() { return m_stack ? m_stack->processIds() : QList<qint64>(); }

QJsonObject ClusterBench::inputs()
{
    return QJsonObject{{QStringLiteral("3.seed"), ++m_seed},
                       {QStringLiteral("5.width"), m_options.imageSize},
                       {QStringLiteral("5.height"), m_options.imageSize}};
}

QJsonObject ClusterBench::graph()
{
    QJsonObject graph = m_graph;
    QJsonObject sampler = graph.value(QStringLiteral("3")).toObject();
    QJsonObject in = sampler.value(QStringLiteral("inputs")).toObject();
    in.insert(QStringLiteral("seed"), ++m_seed);
    sampler.insert(QStringLiteral("inputs"), in);
    graph.insert(QStringLiteral("3"), sampler);
    QJsonObject latent = graph.value(QStringLiteral("5")).toObject();
    in = latent.value(QStringLiteral("inputs")).toObject();
    in.insert(QStringLiteral("width"), m_options.imageSize);
    in.insert(QStringLiteral("height"), m_options.imageSize);
    latent.insert(QStringLiteral("inputs"), in);
    graph.insert(QStringLiteral("5"), latent);
    return graph;
}

bool ClusterBench::arrivals(ClusterStack &stack, QList<QList<Arrival>> *out, QString *error)
{
    out->clear();
    for (int i = 0; i < stack.simCount(); ++i) {
        MiniHttpClient sim(stack.host(), stack.simPort(i));
        const std::optional<HttpResponse> r = sim.request("GET", "/sim/prompts", {}, 10'000, error);
        if (!r)
            return false;
        QList<Arrival> list;
        for (const QJsonValue &v :
             QJsonDocument::fromJson(r->body).object().value(QStringLiteral("prompts")).toArray()) {
            const QJsonObject p = v.toObject();
            if (p.value(QStringLiteral("status")).toInt() != 200)
                continue;
            list.append(Arrival{p.value(QStringLiteral("prompt_id")).toString(),
                                qint64(p.value(QStringLiteral("received_mono_ns")).toDouble()),
                                qint64(p.value(QStringLiteral("finished_mono_ns")).toDouble())});
        }
        out->append(list);
    }
    return true;
}

bool ClusterBench::submit(ClusterStack &stack, int count, QStringList *ids, QString *error)
{
    // Every submission in flight at once (QNetworkAccessManager: 6 connections per runner).
    QNetworkAccessManager nam;
    int answered = 0;
    QStringList failures;
    ids->clear();
    for (int i = 0; i < count; ++i) {
        QNetworkRequest req(QUrl(QStringLiteral("http://127.0.0.1:%1/api/v1/jobs")
                                     .arg(stack.httpPort((m_submitted + i) % stack.runnerCount()))));
        req.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
        const QJsonObject body{{QStringLiteral("workflow"), m_options.stack.workflow},
                               {QStringLiteral("inputs"), inputs()}};
        QNetworkReply *reply = nam.post(req, QJsonDocument(body).toJson(QJsonDocument::Compact));
        connect(reply, &QNetworkReply::finished, this, [reply, ids, &answered, &failures] {
            ++answered;
            const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
            const QByteArray bytes = reply->readAll();
            const QString id = QJsonDocument::fromJson(bytes).object().value(QStringLiteral("id")).toString();
            if (status != 202 || id.isEmpty())
                failures.append(QStringLiteral("HTTP %1: %2").arg(status).arg(QString::fromUtf8(bytes.left(300))));
            else
                ids->append(id);
            reply->deleteLater();
        });
    }
    m_submitted += count;
    if (!waitUntil([&] { return answered == count; }, m_options.timeoutMs)) {
        *error = QStringLiteral("%1 of %2 submissions answered").arg(answered).arg(count);
        return false;
    }
    if (!failures.isEmpty()) {
        *error = QStringLiteral("%1 of %2 submissions refused, the first: %3")
                     .arg(failures.size())
                     .arg(count)
                     .arg(failures.first());
        return false;
    }
    return true;
}

bool ClusterBench::waitSucceeded(ClusterStack &stack, int total, QString *error)
{
    // Every runner answers for every job: each must list all of them as succeeded, none failed.
    for (int i = 0; i < stack.runnerCount(); ++i) {
        MiniHttpClient api(stack.host(), stack.httpPort(i));
        auto count = [&api](const char *state) {
            const std::optional<HttpResponse> r
                = api.request("GET", QByteArray("/api/v1/jobs?limit=1&state=") + state, {}, 10'000);
            return r ? QJsonDocument::fromJson(r->body).object().value(QStringLiteral("total")).toInt(-1) : -1;
        };
        int succeeded = -1;
        const bool all = waitUntil(
            [&] {
                succeeded = count("succeeded");
                if (succeeded >= total)
                    return true;
                runFor(10);
                return false;
            },
            m_options.timeoutMs);
        const int failed = count("failed"), cancelled = count("cancelled");
        if (!all || succeeded != total || failed != 0 || cancelled != 0) {
            *error
                = QStringLiteral("runner r%1 lists %2 succeeded, %3 failed, %4 cancelled jobs; %5 were submitted\n%6")
                      .arg(i)
                      .arg(succeeded)
                      .arg(failed)
                      .arg(cancelled)
                      .arg(total)
                      .arg(stack.logTails());
            return false;
        }
    }
    return true;
}

bool ClusterBench::backendsCall(ClusterStack &stack, const QByteArray &what, QList<qint64> *writtenNs, QString *error)
{
    std::vector<std::unique_ptr<MiniHttpClient>> clients;
    for (int i = 0; i < stack.runnerCount(); ++i) {
        clients.push_back(std::make_unique<MiniHttpClient>(stack.host(), stack.httpPort(i)));
        if (!clients.back()->ensureConnected()) {
            *error = QStringLiteral("cannot connect to runner r%1").arg(i);
            return false;
        }
    }
    if (writtenNs)
        writtenNs->clear();
    for (int i = 0; i < stack.runnerCount(); ++i) {
        if (writtenNs)
            writtenNs->append(monotonicNs());
        const std::optional<HttpResponse> r
            = clients.at(size_t(i))->request("POST", "/api/v1/backends/gpu/" + what, {}, 10'000, error);
        if (!r || r->status != 200) {
            if (r)
                *error = QStringLiteral("POST /api/v1/backends/gpu/%1 on r%2: HTTP %3 %4")
                             .arg(QString::fromLatin1(what))
                             .arg(i)
                             .arg(r->status)
                             .arg(QString::fromUtf8(r->body.left(300)));
            return false;
        }
    }
    return true;
}

bool ClusterBench::runDirect(ClusterStack &stack, Result &r, QString *error)
{
    QList<quint16> ports;
    for (int i = 0; i < stack.simCount(); ++i)
        ports.append(stack.simPort(i));
    DirectDriver direct(ports);
    if (!direct.open(error))
        return false;
    BatchResult b;
    QList<QJsonObject> graphs;
    for (int i = 0; i < m_options.warmup; ++i)
        graphs.append(graph());
    if (!direct.run(graphs, m_options.maxInFlight, m_options.timeoutMs, &b, error))
        return false;
    graphs.clear();
    for (int i = 0; i < m_options.jobs; ++i)
        graphs.append(graph());
    if (!direct.run(graphs, m_options.maxInFlight, m_options.timeoutMs, &b, error))
        return false;
    QList<QList<Arrival>> lists;
    if (!arrivals(stack, &lists, error))
        return false;
    qint64 last = 0;
    for (const QList<Arrival> &list : std::as_const(lists))
        handoverLatencies(
            list, m_options.maxInFlight, b.firstSentNs,
            [&b](const Arrival &a) { return a.receivedNs >= b.firstSentNs; }, &r.directBurst, &last);
    if (r.directBurst.count() != m_options.jobs) {
        *error = QStringLiteral("direct: the simulators received %1 prompts of %2")
                     .arg(r.directBurst.count())
                     .arg(m_options.jobs);
        return false;
    }
    r.directSeconds = double(last - b.firstSentNs) / 1e9;
    for (int i = 0; i < m_options.idleJobs; ++i) {
        qint64 sent = 0;
        QString id;
        if (!direct.runOne(i % stack.simCount(), graph(), m_options.timeoutMs, &sent, &id, error))
            return false;
        if (!arrivals(stack, &lists, error))
            return false;
        bool found = false;
        for (const QList<Arrival> &list : std::as_const(lists))
            for (const Arrival &a : list)
                if (a.promptId == id) {
                    r.directIdle.add(double(a.receivedNs - sent) / 1000.0);
                    found = true;
                }
        if (!found) {
            *error = QStringLiteral("direct: no simulator received prompt %1").arg(id);
            return false;
        }
    }
    direct.close();
    return true;
}

bool ClusterBench::runBurst(ClusterStack &stack, Result &r, QString *error)
{
    QList<int> before;
    for (int i = 0; i < stack.simCount(); ++i) {
        MiniHttpClient sim(stack.host(), stack.simPort(i));
        const std::optional<HttpResponse> s = sim.request("GET", "/sim/state", {}, 10'000, error);
        if (!s)
            return false;
        before.append(QJsonDocument::fromJson(s->body).object().value(u"prompts_received").toInt());
    }
    if (!backendsCall(stack, "drain", nullptr, error))
        return false;
    QStringList ids;
    if (!submit(stack, m_options.jobs, &ids, error))
        return false;
    QList<qint64> resumed;
    QList<qint64> cpu0;
    for (int i = 0; i < stack.runnerCount(); ++i)
        cpu0.append(procstats::cpuMs(stack.runner(i)->pid()));
    if (!backendsCall(stack, "resume", &resumed, error))
        return false;
    // Done when the simulators have received every prompt and run it (then the runners must agree).
    auto received = [&] {
        int sum = 0;
        for (int i = 0; i < stack.simCount(); ++i) {
            MiniHttpClient sim(stack.host(), stack.simPort(i));
            const std::optional<HttpResponse> s = sim.request("GET", "/sim/state", {}, 10'000);
            const QJsonObject o = s ? QJsonDocument::fromJson(s->body).object() : QJsonObject();
            sum += o.value(u"prompts_received").toInt() - before.at(i);
            if (!o.value(u"running").isNull() || o.value(u"pending").toInt() != 0)
                return -1;
        }
        return sum;
    };
    int got = 0;
    waitUntil(
        [&] {
            got = received();
            if (got >= m_options.jobs)
                return true;
            runFor(10);
            return false;
        },
        m_options.timeoutMs);
    for (int i = 0; i < stack.runnerCount(); ++i)
        r.runnerCpuMs += procstats::cpuMs(stack.runner(i)->pid()) - cpu0.at(i);
    if (!waitSucceeded(stack, m_submitted, error))
        return false;
    got = received();
    QList<QList<Arrival>> lists;
    if (!arrivals(stack, &lists, error))
        return false;
    // Exactly once: each job's prompt (attempt 1's prompt id is the job id) at one simulator, once, no other.
    const QSet<QString> jobIds(ids.cbegin(), ids.cend());
    QHash<QString, int> seen;
    int burstPrompts = 0;
    for (int i = 0; i < lists.size(); ++i) {
        int here = 0;
        for (const Arrival &a : lists.at(i))
            if (a.receivedNs >= resumed.first() || jobIds.contains(a.promptId)) {
                ++seen[a.promptId];
                ++here;
            }
        r.promptsPerSim.append(here);
        burstPrompts += here;
    }
    QStringList wrong;
    for (const QString &id : std::as_const(ids))
        if (seen.value(id) != 1)
            wrong.append(QStringLiteral("%1 x%2").arg(id).arg(seen.value(id)));
    for (auto it = seen.cbegin(); it != seen.cend(); ++it)
        if (!jobIds.contains(it.key()))
            wrong.append(QStringLiteral("%1 (not a job of the burst) x%2").arg(it.key()).arg(it.value()));
    if (got != m_options.jobs || burstPrompts != m_options.jobs || !wrong.isEmpty()) {
        *error = QStringLiteral("%1: %2 jobs, the simulators received %3 prompts (%4 listed); wrong: %5\n%6")
                     .arg(r.config)
                     .arg(m_options.jobs)
                     .arg(got)
                     .arg(burstPrompts)
                     .arg(wrong.mid(0, 10).join(u", "), stack.logTails());
        return false;
    }
    qint64 last = 0;
    for (int i = 0; i < lists.size(); ++i)
        handoverLatencies(
            lists.at(i), m_options.maxInFlight, resumed.at(i),
            [&jobIds](const Arrival &a) { return jobIds.contains(a.promptId); }, &r.burst, &last);
    r.jobs = m_options.jobs;
    r.seconds = double(last - resumed.first()) / 1e9;
    return true;
}

bool ClusterBench::runIdle(ClusterStack &stack, Result &r, QString *error)
{
    std::vector<std::unique_ptr<MiniHttpClient>> apis;
    for (int i = 0; i < stack.runnerCount(); ++i) {
        apis.push_back(std::make_unique<MiniHttpClient>(stack.host(), stack.httpPort(i)));
        if (!apis.back()->ensureConnected()) {
            *error = QStringLiteral("cannot connect to runner r%1").arg(i);
            return false;
        }
    }
    QHash<QString, qint64> sent;
    for (int i = 0; i < m_options.idleJobs; ++i) {
        MiniHttpClient &api = *apis.at(size_t(i % stack.runnerCount()));
        const QByteArray body = QJsonDocument(QJsonObject{{QStringLiteral("workflow"), m_options.stack.workflow},
                                                          {QStringLiteral("inputs"), inputs()}})
                                    .toJson(QJsonDocument::Compact);
        const qint64 t = monotonicNs();
        const std::optional<HttpResponse> reply = api.request("POST", "/api/v1/jobs", body, 30'000, error);
        const QString id = reply ? QJsonDocument::fromJson(reply->body).object().value(u"id").toString() : QString();
        if (!reply || reply->status != 202 || id.isEmpty()) {
            if (reply)
                *error = QStringLiteral("idle: POST /api/v1/jobs: HTTP %1 %2")
                             .arg(reply->status)
                             .arg(QString::fromUtf8(reply->body.left(300)));
            return false;
        }
        ++m_submitted;
        sent.insert(id, t);
        QString state;
        const bool done = waitUntil(
            [&] {
                const std::optional<HttpResponse> j = api.request("GET", "/api/v1/jobs/" + id.toLatin1(), {}, 10'000);
                state = j ? QJsonDocument::fromJson(j->body).object().value(u"state").toString() : QString();
                return state == u"succeeded" || state == u"failed" || state == u"cancelled";
            },
            m_options.timeoutMs);
        if (!done || state != u"succeeded") {
            *error = QStringLiteral("idle: job %1 is %2\n%3").arg(id, state, stack.logTails());
            return false;
        }
    }
    if (!waitSucceeded(stack, m_submitted, error))
        return false;
    QList<QList<Arrival>> lists;
    if (!arrivals(stack, &lists, error))
        return false;
    QHash<QString, int> seen;
    for (const QList<Arrival> &list : std::as_const(lists))
        for (const Arrival &a : list)
            if (sent.contains(a.promptId) && ++seen[a.promptId] == 1)
                r.idle.add(double(a.receivedNs - sent.value(a.promptId)) / 1000.0);
    if (r.idle.count() != sent.size() || std::any_of(seen.cbegin(), seen.cend(), [](int n) { return n != 1; })) {
        *error = QStringLiteral("idle: %1 jobs, %2 of them reached a simulator exactly once")
                     .arg(sent.size())
                     .arg(std::count(seen.cbegin(), seen.cend(), 1));
        return false;
    }
    return true;
}

bool ClusterBench::runConfig(const QString &config, QString *error)
{
    Result r;
    r.config = config;
    r.engine = config.section(u'-', 0, 0);
    r.runners = config.section(u'-', 1).toInt();
    ClusterSetup setup;
    setup.runners = r.runners;
    setup.postgres = r.engine == u"pg";
    setup.maxInFlight = m_options.maxInFlight;
    setup.leaseS = m_options.leaseS;
    if (m_stack)
        m_exitedCpuMs += m_stack->exitedCpuMs();
    m_stack = std::make_unique<ClusterStack>(m_options.stack);
    ClusterStack &stack = *m_stack;
    m_submitted = 0;
    const QStringList simArgs{
        QStringLiteral("--steps"),   QStringLiteral("1"), QStringLiteral("--step-ms"),    QStringLiteral("0"),
        QStringLiteral("--node-ms"), QStringLiteral("0"), QStringLiteral("--no-previews")};
    if (!stack.startSims(r.runners, simArgs, error) || !runDirect(stack, r, error) || !stack.startRunners(setup, error))
        return false;
    // Warm-up through the runners (connections, prepared statements, the workflow's first expansion).
    QStringList ids;
    if (!submit(stack, m_options.warmup, &ids, error) || !waitSucceeded(stack, m_submitted, error)
        || !runBurst(stack, r, error) || !runIdle(stack, r, error)) {
        *error = QStringLiteral("%1: %2").arg(config, *error);
        return false;
    }
    m_results.append(r);
    stack.stopRunners();
    stack.stopSims();
    return true;
}

bool ClusterBench::run(QString *error)
{
    QFile file(m_options.stack.workflowsDir + u'/' + m_options.stack.workflow + QStringLiteral(".json"));
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read %1").arg(file.fileName());
        return false;
    }
    m_graph = QJsonDocument::fromJson(file.readAll()).object();
    for (const QString &config : std::as_const(m_options.configs)) {
        if (config.startsWith(u"pg-") && !ClusterStack::postgresAvailable()) {
            m_report.addNote(
                QStringLiteral("not run: %1 (no PostgreSQL: run under scripts/pg-test-cluster.sh)").arg(config));
            continue;
        }
        if (!runConfig(config, error))
            return false;
    }
    if (m_stack) {
        m_stack->stopRunners();
        m_stack->stopSims();
        m_exitedCpuMs += m_stack->exitedCpuMs();
    }
    m_report.addExitedCpuMs(m_exitedCpuMs);
    buildReport();
    return true;
}

} // namespace cr::bench
