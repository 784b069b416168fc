#include "bench/relay/relaybench.h"

#include "bench/common/benchwait.h"
#include "bench/common/procstats.h"
#include "bench/relay/stalledclient.h"

#include <QCoreApplication>
#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>

namespace cr::bench {

namespace {

constexpr qint64 kQuietNs = 300'000'000; // after the end marker: how long to wait for previews that may still come

} // namespace

QJsonObject PathTotals::toJson() const
{
    return QJsonObject{{QStringLiteral("clients"), clients},
                       {QStringLiteral("progress_latency_us"), text.summary()},
                       {QStringLiteral("preview_latency_us"), preview.summary()},
                       {QStringLiteral("expected_progress"), double(expectedTexts)},
                       {QStringLiteral("progress"), double(texts)},
                       {QStringLiteral("lost_progress"), double(lostTexts())},
                       {QStringLiteral("expected_previews"), double(expectedPreviews)},
                       {QStringLiteral("previews"), double(previews)},
                       {QStringLiteral("lost_previews"), double(lostPreviews())},
                       {QStringLiteral("duplicates"), double(duplicates)},
                       {QStringLiteral("out_of_order"), double(outOfOrder)},
                       {QStringLiteral("bytes"), double(bytes)},
                       {QStringLiteral("seconds"), seconds},
                       {QStringLiteral("mb_per_s"), std::round(mbPerSecond() * 10) / 10},
                       {QStringLiteral("previews_per_s"), std::round(previewsPerSecond())},
                       {QStringLiteral("sim_emit_seconds"), emitSeconds},
                       {QStringLiteral("runner_cpu_ms"), double(runnerCpuMs)},
                       {QStringLiteral("sim_cpu_ms"), double(simCpuMs)},
                       {QStringLiteral("bench_cpu_ms"), double(benchCpuMs)},
                       {QStringLiteral("other_cpu_ms"), double(otherCpuMs)}};
}

RelayBench::RelayBench(const RelayBenchOptions &options, QObject *parent) : QObject(parent), m_options(options)
{
    connect(&m_stack.sim(), &ChildProcess::lineReceived, this, &RelayBench::onSimLine);
    connect(&m_stackOff.sim(), &ChildProcess::lineReceived, this, &RelayBench::onSimLine);
    m_rssTimer.setInterval(10);
    connect(&m_rssTimer, &QTimer::timeout, this, &RelayBench::sampleRss);
}

RelayBench::~RelayBench()
{
    m_stack.stop();
    m_stackOff.stop();
}

// Burst ids are unique over both stacks, so one handler serves both simulators.
void RelayBench::onSimLine(const QString &line)
{
    const QStringList words = line.split(u' ');
    if (words.value(0) == u"done" && words.size() == 5) {
        const quint32 id = words.at(1).toUInt();
        m_burstEmit.insert(id, {words.at(3).toLongLong(), words.at(4).toLongLong()});
        m_doneBursts.insert(id);
    } else if (words.value(0) == u"sockets" && words.size() == 2) {
        m_simSockets = words.at(1).toInt();
        ++m_socketAnswers;
    }
}

QList<qint64> RelayBench::processIds()
{
    QList<qint64> ids{m_stack.sim().pid(), m_stack.runner().pid()};
    if (m_options.metricsAb)
        ids << m_stackOff.sim().pid() << m_stackOff.runner().pid();
    return ids;
}

QList<ServiceStack *> RelayBench::roundStacks(int round)
{
    if (!m_options.metricsAb)
        return {&m_stack};
    return round % 2 == 0 ? QList<ServiceStack *>{&m_stack, &m_stackOff} : QList<ServiceStack *>{&m_stackOff, &m_stack};
}

void RelayBench::sampleRss() { m_rssMaxKb = std::max(m_rssMaxKb, procstats::rssKb(m_stack.runner().pid())); }

int RelayBench::simSockets()
{
    const int before = m_socketAnswers;
    stack().sim().write("sockets\n");
    return waitUntil([&] { return m_socketAnswers > before; }, 5000) ? m_simSockets : -1;
}

QJsonObject RelayBench::relayStats()
{
    MiniHttpClient &api = m_cur == &m_stackOff ? *m_apiOff : *m_api;
    const std::optional<HttpResponse> r = api.request("GET", "/api/v1/system", {}, 5000);
    return r ? QJsonDocument::fromJson(r->body).object().value(QStringLiteral("relay")).toObject() : QJsonObject();
}

bool RelayBench::openClients(Path path, int count, Clients *clients, QString *error)
{
    for (int i = 0; i < count; ++i) {
        const auto target = path == Path::Direct ? StampClient::Target::Direct : StampClient::Target::Relay;
        auto c = std::make_unique<StampClient>(target, i);
        c->open(path == Path::Direct ? stack().simPort() : stack().relayPort(), m_options.relayQuery);
        clients->push_back(std::move(c));
    }
    const bool ready = waitUntil(
        [clients] { return std::all_of(clients->begin(), clients->end(), [](const auto &c) { return c->isReady(); }); },
        15'000);
    if (!ready)
        *error = QStringLiteral("%1 %2 clients did not all connect")
                     .arg(count)
                     .arg(path == Path::Direct ? "direct" : "relay");
    return ready;
}

bool RelayBench::closeClients(Path path, Clients *clients, int relayClientsLeft, QString *error)
{
    for (const auto &c : *clients)
        c->close();
    waitUntil(
        [clients] {
            return std::all_of(clients->begin(), clients->end(), [](const auto &c) { return c->isClosed(); });
        },
        10'000);
    clients->clear();
    // The next phase starts when the servers have let go of them too (the simulator keeps comfy-runner's).
    const bool gone = waitUntil(
        [&] {
            const bool done = path == Path::Direct
                ? simSockets() == 1
                : relayStats().value(QStringLiteral("clients")).toInt(-1) == relayClientsLeft;
            if (!done)
                runFor(20);
            return done;
        },
        15'000);
    if (!gone)
        *error = QStringLiteral("the %1 clients were not released by the server")
                     .arg(path == Path::Direct ? "direct" : "relay");
    return gone;
}

bool RelayBench::burst(const Clients &clients, int steps, qint64 intervalUs, PathTotals *totals, QString *error)
{
    const quint32 id = ++m_burstId;
    for (const auto &c : clients)
        c->expect(id, quint32(steps), totals ? &totals->text : nullptr, totals ? &totals->preview : nullptr);
    const qint64 runnerPid = stack().runner().pid();
    const qint64 simPid = stack().sim().pid();
    const qint64 benchPid = QCoreApplication::applicationPid();
    const qint64 runnerCpu0 = procstats::cpuMs(runnerPid);
    const qint64 simCpu0 = procstats::cpuMs(simPid);
    const qint64 benchCpu0 = procstats::cpuMs(benchPid);
    const qint64 busy0 = procstats::machineBusyMs();

    stack().sim().write(
        QStringLiteral("burst %1 %2 %3 %4\n").arg(id).arg(steps).arg(intervalUs).arg(m_options.previewPx).toLatin1());
    const int timeoutMs = int(steps * std::max<qint64>(intervalUs / 1000, 10) + 30'000);
    const bool done = waitUntil(
        [&] {
            if (!m_doneBursts.contains(id))
                return false;
            const qint64 now = monotonicNs();
            return std::all_of(clients.begin(), clients.end(),
                               [now](const auto &c) { return c->burstDone(now, kQuietNs); });
        },
        timeoutMs);
    if (!done || !stack().runner().isRunning()) {
        QStringList state;
        for (size_t i = 0; i < clients.size(); ++i) {
            const BurstTally &t = clients[i]->tally();
            state << QStringLiteral("client %1: %2/%3 progress, %4 previews, end %5")
                         .arg(i)
                         .arg(t.texts)
                         .arg(steps)
                         .arg(t.previews)
                         .arg(t.endNs ? "seen" : "missing");
        }
        *error
            = QStringLiteral("burst %1 (%2 steps, %3 us apart) did not complete within %4 ms (simulator %5):\n%6\n"
                             "--- comfy-runner log ---\n%7")
                  .arg(id)
                  .arg(steps)
                  .arg(intervalUs)
                  .arg(timeoutMs)
                  .arg(m_doneBursts.contains(id) ? "done" : "not done", state.join(u'\n'), stack().runner().logTail());
        return false;
    }
    // JSON events are never dropped, by the simulator or the relay: a healthy client that lacks one is a bug.
    for (size_t i = 0; i < clients.size(); ++i) {
        const BurstTally &t = clients[i]->tally();
        if (t.texts != quint32(steps)) {
            *error = QStringLiteral("burst %1: client %2 lost %3 of %4 progress events")
                         .arg(id)
                         .arg(i)
                         .arg(steps - int(t.texts))
                         .arg(steps);
            return false;
        }
    }
    const auto [emitUs, bytesPerClient] = m_burstEmit.value(id);
    m_previewBytes = steps > 0 ? bytesPerClient / steps : 0;
    if (!totals)
        return true;
    const qint64 runnerCpu = procstats::cpuMs(runnerPid) - runnerCpu0;
    const qint64 simCpu = procstats::cpuMs(simPid) - simCpu0;
    const qint64 benchCpu = procstats::cpuMs(benchPid) - benchCpu0;
    totals->runnerCpuMs += runnerCpu;
    totals->simCpuMs += simCpu;
    totals->benchCpuMs += benchCpu;
    totals->otherCpuMs += std::max<qint64>(0, procstats::machineBusyMs() - busy0 - runnerCpu - simCpu - benchCpu);
    totals->clients = int(clients.size());
    ++totals->bursts;
    qint64 start = 0, end = 0;
    for (const auto &c : clients) {
        const BurstTally &t = c->tally();
        totals->expectedTexts += t.steps;
        totals->texts += t.texts;
        totals->expectedPreviews += t.steps;
        totals->previews += t.previews;
        totals->duplicates += t.duplicates;
        totals->outOfOrder += t.outOfOrder;
        totals->bytes += t.bytes;
        if (t.firstStampNs && (start == 0 || t.firstStampNs < start))
            start = t.firstStampNs;
        end = std::max(end, t.lastNs);
    }
    totals->seconds += double(end - start) / 1e9;
    totals->emitSeconds += double(emitUs) / 1e6;
    return true;
}

bool RelayBench::latencyScenario(QString *error)
{
    const int steps = std::max(1, m_options.latencySteps / m_options.rounds);
    for (int round = 0; round < m_options.rounds; ++round) {
        for (ServiceStack *on : roundStacks(round)) {
            m_cur = on;
            for (Path path : {Path::Direct, Path::Relay}) {
                Clients clients;
                PathTotals &totals = (on == &m_stack ? m_latency : m_latencyOff)[path == Path::Direct ? 0 : 1];
                if (!openClients(path, m_options.clients, &clients, error)
                    || !burst(clients, m_options.warmupSteps, m_options.stepMs * 1000, nullptr, error)
                    || !burst(clients, steps, m_options.stepMs * 1000, &totals, error)
                    || !closeClients(path, &clients, 0, error))
                    return false;
            }
        }
    }
    m_cur = &m_stack;
    return true;
}

bool RelayBench::throughputScenario(QString *error)
{
    // Per round: the direct path flat out (the simulator as fast as the slowest client reads); the relay fed at
    // the rate that direct run reached (can it deliver as much?); the relay fed flat out (it reads ComfyUI as fast
    // as it can and drops previews for clients that fall behind, so this shows what it delivers at saturation).
    const int rounds = std::min(m_options.rounds, 2); // long bursts: a flat-out burst must reach a steady state
    const int steps = std::max(1, m_options.throughputSteps / rounds);
    for (int round = 0; round < rounds; ++round) {
        for (ServiceStack *on : roundStacks(round)) {
            m_cur = on;
            for (int kind = 0; kind < ThroughputPaths; ++kind) {
                const Path path = kind == DirectFlat ? Path::Direct : Path::Relay;
                const qint64 interval = kind == RelayAtDirectRate ? m_directIntervalUs : 0;
                Clients clients;
                PathTotals &totals = (on == &m_stack ? m_throughput : m_throughputOff)[kind];
                const double emitBefore = totals.emitSeconds;
                if (!openClients(path, m_options.clients, &clients, error)
                    || !burst(clients, m_options.warmupSteps, interval, nullptr, error)
                    || !burst(clients, steps, interval, &totals, error) || !closeClients(path, &clients, 0, error))
                    return false;
                if (kind == DirectFlat)
                    m_directIntervalUs = std::max<qint64>(1, qint64((totals.emitSeconds - emitBefore) * 1e6 / steps));
            }
        }
    }
    m_cur = &m_stack;
    return true;
}

bool RelayBench::stalledScenario(QString *error)
{
    if (m_options.clients < 2) {
        *error = QStringLiteral("the stalled scenario needs at least 2 clients");
        return false;
    }
    Clients clients;
    if (!openClients(Path::Relay, m_options.clients - 1, &clients, error))
        return false;
    StalledClient stalled;
    if (!stalled.open(m_stack.relayPort(), error))
        return false;
    if (!waitUntil(
            [&] {
                const bool all = relayStats().value(QStringLiteral("clients")).toInt() == m_options.clients;
                if (!all)
                    runFor(20);
                return all;
            },
            10'000)) {
        *error = QStringLiteral("the stalled client was not registered by the relay");
        return false;
    }
    const qint64 runnerPid = m_stack.runner().pid();
    const bool hwmReset = procstats::resetPeakRss(runnerPid);
    m_rssMaxKb = procstats::rssKb(runnerPid);
    const qint64 rssStartKb = m_rssMaxKb;
    m_rssTimer.start();

    // Real jobs meanwhile: their events reach every relay client too, the stalled one included.
    QStringList jobIds;
    for (int j = 0; j < m_options.jobs; ++j) {
        const QJsonObject inputs{
            {QStringLiteral("3.seed"), 700 + j}, {QStringLiteral("5.width"), 64}, {QStringLiteral("5.height"), 64}};
        const QByteArray body = QJsonDocument(QJsonObject{{QStringLiteral("workflow"), m_options.stack.workflow},
                                                          {QStringLiteral("inputs"), inputs}})
                                    .toJson(QJsonDocument::Compact);
        const std::optional<HttpResponse> r = m_api->request("POST", "/api/v1/jobs", body, 10'000, error);
        if (!r || r->status != 202) {
            *error = QStringLiteral("POST /api/v1/jobs: %1").arg(r ? QString::fromUtf8(r->body.left(200)) : *error);
            return false;
        }
        jobIds << QJsonDocument::fromJson(r->body).object().value(QStringLiteral("id")).toString();
    }

    if (!burst(clients, m_options.warmupSteps, m_options.stepMs * 1000, nullptr, error)
        || !burst(clients, m_options.stalledSteps, m_options.stepMs * 1000, &m_stalledPaced, error)
        || !burst(clients, m_options.stalledFlatSteps, m_directIntervalUs, &m_stalledRate, error))
        return false;

    QJsonArray jobs;
    int succeeded = 0;
    for (const QString &id : std::as_const(jobIds)) {
        QString state;
        waitUntil(
            [&] {
                const std::optional<HttpResponse> r = m_api->request("GET", "/api/v1/jobs/" + id.toLatin1(), {}, 5000);
                state = r ? QJsonDocument::fromJson(r->body).object().value(QStringLiteral("state")).toString()
                          : QString();
                const bool finished = state != u"queued" && state != u"running" && !state.isEmpty();
                if (!finished)
                    runFor(50);
                return finished;
            },
            60'000);
        succeeded += state == u"succeeded" ? 1 : 0;
        jobs.append(QJsonObject{{QStringLiteral("id"), id}, {QStringLiteral("state"), state}});
    }
    m_rssTimer.stop();
    sampleRss();

    const QJsonObject stats = relayStats();
    QJsonObject stalledStats;
    const QString peerSuffix = QStringLiteral(":%1").arg(stalled.localPort());
    for (const QJsonValue &v : stats.value(QStringLiteral("per_client")).toArray()) {
        if (v.toObject().value(QStringLiteral("peer")).toString().endsWith(peerSuffix))
            stalledStats = v.toObject();
    }
    m_stalledInfo = QJsonObject{
        {QStringLiteral("jobs"), jobs},
        {QStringLiteral("jobs_succeeded"), succeeded},
        {QStringLiteral("rss_baseline_kb"), double(m_rssBaselineKb)},
        {QStringLiteral("rss_max_sampled_kb"), double(m_rssMaxKb)},
        {QStringLiteral("rss_peak_kb"), hwmReset ? double(procstats::peakRssKb(runnerPid)) : QJsonValue()},
        {QStringLiteral("stalled_client"),
         stalledStats.isEmpty() ? QJsonValue(QStringLiteral("closed by the relay")) : QJsonValue(stalledStats)},
        {QStringLiteral("closed"), stats.value(QStringLiteral("closed"))},
    };
    stalled.close();
    // Once the stalled client is gone the service gives its backlog's memory back (within about 2 s).
    waitUntil(
        [&] {
            const bool gone = relayStats().value(QStringLiteral("clients")).toInt() == m_options.clients - 1;
            if (!gone)
                runFor(20);
            return gone;
        },
        10'000);
    waitUntil(
        [&] {
            const bool back = procstats::rssKb(runnerPid) <= rssStartKb + 10 * 1024;
            if (!back)
                runFor(50);
            return back;
        },
        3000);
    m_stalledInfo.insert(QStringLiteral("rss_start_kb"), double(rssStartKb));
    m_stalledInfo.insert(QStringLiteral("rss_after_stalled_left_kb"), double(procstats::rssKb(runnerPid)));
    if (!closeClients(Path::Relay, &clients, 0, error))
        return false;
    if (succeeded != jobIds.size()) {
        *error = QStringLiteral("jobs run during the stalled scenario did not all succeed: %1")
                     .arg(QString::fromUtf8(QJsonDocument(jobs).toJson(QJsonDocument::Compact)));
        return false;
    }
    return true;
}

bool RelayBench::run(QString *error)
{
    StackOptions stack = m_options.stack;
    // Ordinary prompts (the jobs of the stalled scenario) are kept light, 64 x 64 with 64 px previews: the
    // simulator renders and encodes them on its event loop, which would delay the bursts' frames; the bursts
    // carry their own preview size.
    stack.simArguments = {QStringLiteral("--step-ms"), QString::number(m_options.stepMs),
                          QStringLiteral("--preview-size"), QStringLiteral("64")};
    if (!m_stack.start(stack, error))
        return false;
    m_api = std::make_unique<MiniHttpClient>(m_stack.host(), m_stack.httpPort());
    if (m_options.metricsAb) {
        StackOptions off = stack;
        off.extraConfig = "\n[metrics]\nenabled = false\n";
        if (!m_stackOff.start(off, error))
            return false;
        m_apiOff = std::make_unique<MiniHttpClient>(m_stackOff.host(), m_stackOff.httpPort());
    }
    m_rssBaselineKb = procstats::rssKb(m_stack.runner().pid());
    const QStringList &only = m_options.scenarios;
    if ((only.contains(u"latency") && !latencyScenario(error))
        || (only.contains(u"throughput") && !throughputScenario(error))
        || (only.contains(u"stalled") && !stalledScenario(error)))
        return false;
    buildReport();
    return true;
}

} // namespace cr::bench
