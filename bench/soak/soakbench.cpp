#include "bench/soak/soakbench.h"

#include "bench/common/benchwait.h"
#include "bench/common/procstats.h"
#include "bench/common/samples.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>

namespace cr::bench {

SoakBench::SoakBench(const SoakOptions &options, QObject *parent) : QObject(parent), m_options(options)
{
    m_rssTimer.setInterval(500);
    connect(&m_rssTimer, &QTimer::timeout, this, &SoakBench::sampleRss);
}

SoakBench::~SoakBench()
{
    m_clients.clear();
    m_stalledClients.clear();
    m_stack.stop();
}

void SoakBench::sampleRss() { m_rssMaxKb = std::max(m_rssMaxKb, procstats::rssKb(m_stack.runner().pid())); }

QJsonObject SoakBench::relayStats()
{
    const std::optional<HttpResponse> r = m_api->request("GET", "/api/v1/system", {}, 5000);
    return r ? QJsonDocument::fromJson(r->body).object().value(QStringLiteral("relay")).toObject() : QJsonObject();
}

int SoakBench::minFinished() const
{
    int n = INT_MAX;
    for (const auto &c : m_clients)
        n = std::min(n, c->finishedJobs());
    return m_clients.empty() ? 0 : n;
}

bool SoakBench::setUp(QString *error)
{
    StackOptions stack = m_options.stack;
    stack.simArguments = {QStringLiteral("--steps"),        QString::number(m_options.steps),
                          QStringLiteral("--step-ms"),      QStringLiteral("0"),
                          QStringLiteral("--node-ms"),      QStringLiteral("0"),
                          QStringLiteral("--preview-size"), QString::number(m_options.previewSize)};
    if (!m_stack.start(stack, error))
        return false;
    m_api = std::make_unique<MiniHttpClient>(m_stack.host(), m_stack.httpPort());
    for (int i = 0; i < m_options.clients - m_options.stalled; ++i) {
        m_clients.push_back(std::make_unique<JobEventClient>(i));
        m_clients.back()->open(m_stack.relayPort());
    }
    if (!waitUntil(
            [this] {
                return std::all_of(m_clients.begin(), m_clients.end(), [](const auto &c) { return c->isReady(); });
            },
            15'000)) {
        *error = QStringLiteral("not every healthy relay client got its pong");
        return false;
    }
    // The stalled ones in the default legacy mode: every event and every preview is sent to them.
    for (int i = 0; i < m_options.stalled; ++i) {
        m_stalledClients.push_back(std::make_unique<StalledClient>());
        if (!m_stalledClients.back()->open(m_stack.relayPort(), error))
            return false;
    }
    if (!waitUntil(
            [this] {
                const bool all = relayStats().value(QStringLiteral("clients")).toInt() == m_options.clients;
                if (!all)
                    runFor(20);
                return all;
            },
            10'000)) {
        *error = QStringLiteral("the relay did not register all %1 clients").arg(m_options.clients);
        return false;
    }
    return true;
}

bool SoakBench::submit(int n, QString *error)
{
    const QJsonObject inputs{
        {QStringLiteral("3.seed"), 10'000 + n}, {QStringLiteral("5.width"), 64}, {QStringLiteral("5.height"), 64}};
    const QByteArray body = QJsonDocument(QJsonObject{{QStringLiteral("workflow"), m_options.stack.workflow},
                                                      {QStringLiteral("inputs"), inputs}})
                                .toJson(QJsonDocument::Compact);
    const std::optional<HttpResponse> r = m_api->request("POST", "/api/v1/jobs", body, 10'000, error);
    if (!r || r->status != 202) {
        *error
            = QStringLiteral("POST /api/v1/jobs #%1: %2").arg(n).arg(r ? QString::fromUtf8(r->body.left(300)) : *error);
        return false;
    }
    m_jobIds << QJsonDocument::fromJson(r->body).object().value(QStringLiteral("id")).toString();
    return true;
}

bool SoakBench::run(QString *error)
{
    if (!setUp(error))
        return false;
    const qint64 runnerPid = m_stack.runner().pid();
    m_rssStartKb = procstats::rssKb(runnerPid);
    m_rssMaxKb = m_rssStartKb;
    m_rssTimer.start();
    m_startNs = monotonicNs();
    const int warm = std::min(m_options.warmupJobs, m_options.jobs / 2);
    for (int n = 0; n < m_options.jobs; ++n) {
        // Keep at most `window` jobs unfinished (as every healthy client saw them).
        if (n - minFinished() >= m_options.window
            && !waitUntil([&] { return n - minFinished() < m_options.window; }, 60'000)) {
            *error = QStringLiteral("jobs stopped finishing after %1 (%2 submitted)\n--- comfy-runner log ---\n%3")
                         .arg(minFinished())
                         .arg(n)
                         .arg(m_stack.runner().logTail());
            return false;
        }
        if (m_warmNs == 0 && minFinished() >= warm) {
            m_warmNs = monotonicNs();
            m_rssWarmKb = procstats::rssKb(runnerPid);
        }
        if (!submit(n, error))
            return false;
    }
    if (!waitUntil([this] { return minFinished() >= m_options.jobs; }, m_options.timeoutMs)) {
        *error = QStringLiteral("only %1 of %2 jobs finished for every healthy client within %3 ms")
                     .arg(minFinished())
                     .arg(m_options.jobs)
                     .arg(m_options.timeoutMs);
        return false;
    }
    m_endNs = monotonicNs();
    // image_generated follows job_finished: let the last events reach everybody (the same last seq).
    waitUntil(
        [this] {
            const qint64 last = m_clients.front()->lastSeq();
            const bool same = std::all_of(m_clients.begin(), m_clients.end(),
                                          [last](const auto &c) { return c->lastSeq() == last; });
            runFor(50);
            return same && last == m_clients.front()->lastSeq();
        },
        5000);
    m_rssTimer.stop();
    sampleRss();
    m_rssEndKb = procstats::rssKb(runnerPid);
    m_runnerCpuMs = procstats::cpuMs(runnerPid);
    m_relayEnd = relayStats();
    if (m_options.stalled > 0 && !m_options.quick) {
        // Issue #11: once the stalled clients are gone the RSS must come back down. The relay asks for a
        // malloc_trim 100 ms after a client with a large backlog leaves (at most one per 2 s).
        for (auto &stalled : m_stalledClients)
            stalled->close();
        const int healthy = m_options.clients - m_options.stalled;
        waitUntil([&] { return relayStats().value(QStringLiteral("clients")).toInt() <= healthy; }, 10'000);
        runFor(2500);
        m_rssLeftKb = procstats::rssKb(runnerPid);
    }
    const bool ok = verify(error);
    buildReport();
    return ok;
}

// Every job: queued, started and finished once each (job_progress may be absent: at zero step time a run can
// end before ComfyUI has acknowledged the prompt, and the job manager publishes no progress before that), for every
// healthy client, which all got the same events (same counts per job, same seq range, no hole, no gap, never closed).
bool SoakBench::verify(QString *error)
{
    const JobEventClient &ref = *m_clients.front();
    for (const QString &id : std::as_const(m_jobIds)) {
        const JobTally t = ref.jobs().value(id);
        if (t.queued != 1 || t.started != 1 || t.finished != 1 || t.failed != 0)
            m_problems << QStringLiteral("job %1: queued %2, started %3, progress %4, finished %5, failed %6")
                              .arg(id)
                              .arg(t.queued)
                              .arg(t.started)
                              .arg(t.progress)
                              .arg(t.finished)
                              .arg(t.failed);
    }
    for (const auto &c : m_clients) {
        if (c->seqHoles() || c->gaps() || c->closeCode() || !c->isConnected())
            m_problems << QStringLiteral("client %1: %2 missing seqs, %3 relay_gap, close code %4")
                              .arg(c->index())
                              .arg(c->seqHoles())
                              .arg(c->gaps())
                              .arg(c->closeCode());
        if (c.get() != &ref
            && (c->firstSeq() != ref.firstSeq() || c->lastSeq() != ref.lastSeq() || c->jobs() != ref.jobs()))
            m_problems << QStringLiteral("client %1 got other events than client 0 (seq %2..%3 vs %4..%5)")
                              .arg(c->index())
                              .arg(c->firstSeq())
                              .arg(c->lastSeq())
                              .arg(ref.firstSeq())
                              .arg(ref.lastSeq());
    }
    if (m_problems.isEmpty())
        return true;
    *error = QStringLiteral("%1 problem(s), the first ones:\n  %2")
                 .arg(m_problems.size())
                 .arg(m_problems.mid(0, 10).join(u"\n  "));
    return false;
}

void SoakBench::buildReport()
{
    const JobEventClient &ref = *m_clients.front();
    int succeeded = 0;
    for (const QString &id : std::as_const(m_jobIds))
        succeeded += ref.jobs().value(id).finished == 1 ? 1 : 0;
    const int measured = m_options.jobs - std::min(m_options.warmupJobs, m_options.jobs / 2);
    const double measuredS = double(m_endNs - m_warmNs) / 1e9;
    const double totalS = double(m_endNs - m_startNs) / 1e9;
    const double jobsPerS = measuredS > 0 ? measured / measuredS : 0;
    QJsonObject &json = m_report.json();
    json.insert(QStringLiteral("config"),
                QJsonObject{{QStringLiteral("jobs"), m_options.jobs},
                            {QStringLiteral("warmup_jobs"), m_options.warmupJobs},
                            {QStringLiteral("clients"), m_options.clients},
                            {QStringLiteral("stalled"), m_options.stalled},
                            {QStringLiteral("window"), m_options.window},
                            {QStringLiteral("steps"), m_options.steps},
                            {QStringLiteral("preview_size"), m_options.previewSize},
                            {QStringLiteral("quick"), m_options.quick}});
    json.insert(QStringLiteral("jobs_succeeded"), succeeded);
    json.insert(QStringLiteral("jobs_per_s"), jobsPerS);
    json.insert(QStringLiteral("seconds_total"), totalS);
    json.insert(QStringLiteral("events_per_client"), double(ref.events()));
    json.insert(QStringLiteral("rss_kb"),
                QJsonObject{{QStringLiteral("start"), double(m_rssStartKb)},
                            {QStringLiteral("after_warmup"), double(m_rssWarmKb)},
                            {QStringLiteral("end"), double(m_rssEndKb)},
                            {QStringLiteral("stalled_left"), double(m_rssLeftKb)},
                            {QStringLiteral("max_sampled"), double(m_rssMaxKb)}});
    json.insert(QStringLiteral("runner_cpu_ms"), double(m_runnerCpuMs));
    json.insert(QStringLiteral("relay_end"), m_relayEnd);
    json.insert(QStringLiteral("problems"), QJsonArray::fromStringList(m_problems));
    const auto mb = [](qint64 kb) { return fmt(double(kb) / 1024.0, 1); };
    m_report.addTable(
        QStringLiteral("Soak: %1 jobs (--steps %2, step time 0, %3 px previews), %4 relay clients of which %5 stalled")
            .arg(m_options.jobs)
            .arg(m_options.steps)
            .arg(m_options.previewSize)
            .arg(m_options.clients)
            .arg(m_options.stalled),
        {QStringLiteral("jobs ok"), QStringLiteral("jobs/s"), QStringLiteral("s total"),
         QStringLiteral("events/client"), QStringLiteral("RSS start MB"), QStringLiteral("after warm-up"),
         QStringLiteral("end"), QStringLiteral("max"), QStringLiteral("stalled left"), QStringLiteral("svc cpu s"),
         QStringLiteral("relay clients at end")},
        {{QStringLiteral("%1/%2").arg(succeeded).arg(m_options.jobs), fmt(jobsPerS, 1), fmt(totalS, 1),
          QString::number(ref.events()), mb(m_rssStartKb), mb(m_rssWarmKb), mb(m_rssEndKb), mb(m_rssMaxKb),
          m_rssLeftKb ? mb(m_rssLeftKb) : QStringLiteral("-"), fmt(double(m_runnerCpuMs) / 1000.0, 1),
          QString::number(m_relayEnd.value(QStringLiteral("clients")).toInt())}});
    m_report.addTarget(QStringLiteral("RSS growth from after warm-up to the end"),
                       double(m_rssEndKb - m_rssWarmKb) / 1024.0, 16, true, QStringLiteral("MB"));
    m_report.addNote(QStringLiteral("jobs/s: the jobs after warm-up over the time until every healthy client had their "
                                    "job_finished; the window keeps %1 jobs queued")
                         .arg(m_options.window));
    m_report.addNote(QStringLiteral("stalled clients never read: the relay drops their previews and closes them (4008) "
                                    "beyond its hard limit; \"relay clients at end\" counts who is left"));
}

} // namespace cr::bench
