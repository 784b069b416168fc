// PoolBench's report: the tables, the targets and the JSON document of the three scenarios.
#include "bench/pool/poolbench.h"

#include <QJsonArray>

#include <cmath>

namespace cr::bench {

namespace {

QString joinInts(const QList<int> &values)
{
    QStringList parts;
    for (int v : values)
        parts.append(QString::number(v));
    return parts.join(u'/');
}

QJsonArray toArray(const QList<int> &values)
{
    QJsonArray a;
    for (int v : values)
        a.append(v);
    return a;
}

} // namespace

void PoolBench::buildReport()
{
    QJsonObject &json = m_report.json();
    QJsonArray sizes;
    for (int n : std::as_const(m_options.sizes))
        sizes.append(n);
    json.insert(QStringLiteral("config"),
                QJsonObject{{QStringLiteral("sizes"), sizes},
                            {QStringLiteral("jobs_per_backend"), m_options.jobsPerBackend},
                            {QStringLiteral("warmup_per_backend"), m_options.warmupPerBackend},
                            {QStringLiteral("rounds"), m_options.rounds},
                            {QStringLiteral("steps"), m_options.steps},
                            {QStringLiteral("step_ms"), m_options.stepMs},
                            {QStringLiteral("node_ms"), m_options.nodeMs},
                            {QStringLiteral("preview_size"), m_options.previewSize},
                            {QStringLiteral("image_size"), m_options.imageSize},
                            {QStringLiteral("max_in_flight"), m_options.maxInFlight},
                            {QStringLiteral("window"), m_options.window},
                            {QStringLiteral("affinity_jobs"), m_options.affinityJobs},
                            {QStringLiteral("model_load_ms"), m_options.modelLoadMs},
                            {QStringLiteral("affinity_pattern"), m_options.affinityPattern},
                            {QStringLiteral("overhead_iterations"), m_options.overheadIterations},
                            {QStringLiteral("workflow"), m_options.stack.workflow},
                            {QStringLiteral("quick"), m_options.quick},
                            {QStringLiteral("pool_supported"), m_poolSupported},
                            {QStringLiteral("skipped"), QJsonArray::fromStringList(m_skipped)}});

    // Throughput.
    double direct1 = 0;
    for (const Throughput &t : std::as_const(m_throughput))
        direct1 = t.n == 1 ? t.directRate() : direct1;
    QJsonArray throughput;
    QList<QStringList> rows;
    for (const Throughput &t : std::as_const(m_throughput)) {
        const double ratio = t.directRate() > 0 ? t.runnerRate() / t.directRate() : 0;
        const double scaling = direct1 > 0 ? t.runnerRate() / (t.n * direct1) : 0;
        throughput.append(QJsonObject{{QStringLiteral("n"), t.n},
                                      {QStringLiteral("config"), t.config},
                                      {QStringLiteral("direct_jobs"), t.directJobs},
                                      {QStringLiteral("direct_jobs_per_s"), t.directRate()},
                                      {QStringLiteral("runner_jobs"), t.runnerJobs},
                                      {QStringLiteral("runner_jobs_per_s"), t.runnerRate()},
                                      {QStringLiteral("runner_over_direct"), ratio},
                                      {QStringLiteral("runner_over_n_times_direct1"), scaling},
                                      {QStringLiteral("runner_prompts_per_backend"), toArray(t.runnerPrompts)},
                                      {QStringLiteral("runner_cpu_ms"), double(t.runnerCpuMs)}});
        if (t.runnerJobs == 0) {
            rows.append({QString::number(t.n), t.config, fmt(t.directRate(), 2), QStringLiteral("-"),
                         QStringLiteral("-"), QStringLiteral("-"), QStringLiteral("-"), QStringLiteral("-")});
            continue;
        }
        rows.append({QString::number(t.n), t.config, fmt(t.directRate(), 2), fmt(t.runnerRate(), 2), fmt(ratio, 3),
                     direct1 > 0 ? fmt(scaling, 3) : QStringLiteral("-"), joinInts(t.runnerPrompts),
                     fmt(t.runnerJobs > 0 ? double(t.runnerCpuMs) / t.runnerJobs : 0, 2)});
        m_report.addTarget(QStringLiteral("throughput N=%1: runner / direct (sum of the simulators)").arg(t.n), ratio,
                           0.95, false, QString());
        if (direct1 > 0 && t.n > 1)
            m_report.addTarget(QStringLiteral("throughput N=%1: runner / (N x direct N=1)").arg(t.n), scaling, 0.95,
                               false, QString());
    }
    json.insert(QStringLiteral("throughput"), throughput);
    if (!rows.isEmpty())
        m_report.addTable(
            QStringLiteral("Throughput, jobs/s (sd15_txt2img %1x%1, --steps %2 --step-ms %3 --node-ms %4 "
                           "--preview-size %5; %6 jobs per backend and batch, %7 rounds; max_in_flight %8)")
                .arg(m_options.imageSize)
                .arg(m_options.steps)
                .arg(m_options.stepMs)
                .arg(m_options.nodeMs)
                .arg(m_options.previewSize)
                .arg(m_options.jobsPerBackend)
                .arg(m_options.rounds)
                .arg(m_options.maxInFlight),
            {QStringLiteral("N"), QStringLiteral("runner config"), QStringLiteral("direct"), QStringLiteral("runner"),
             QStringLiteral("runner/direct"), QStringLiteral("runner/(N x direct1)"),
             QStringLiteral("prompts per backend"), QStringLiteral("svc cpu ms/job")},
            rows);

    // Affinity.
    QJsonArray affinity;
    rows.clear();
    double affinitySeconds = 0, leastSeconds = 0;
    for (const Affinity &a : std::as_const(m_affinity)) {
        affinity.append(QJsonObject{{QStringLiteral("routing"), a.routing},
                                    {QStringLiteral("jobs"), a.result.jobs},
                                    {QStringLiteral("seconds"), a.result.seconds()},
                                    {QStringLiteral("model_loads_per_backend"), toArray(a.loads)},
                                    {QStringLiteral("prompts_per_backend"), toArray(a.prompts)}});
        rows.append({a.routing, QString::number(a.result.jobs), fmt(a.result.seconds(), 2),
                     fmt(a.result.jobsPerSecond(), 2), joinInts(a.loads), joinInts(a.prompts)});
        (a.routing == u"affinity" ? affinitySeconds : leastSeconds) = a.result.seconds();
    }
    json.insert(QStringLiteral("affinity"), affinity);
    if (!rows.isEmpty()) {
        m_report.addTable(QStringLiteral("Mixed checkpoints on two backends (--model-load-ms %1, %2 jobs, pattern %3), "
                                         "each routing with fresh simulators")
                              .arg(m_options.modelLoadMs)
                              .arg(m_options.affinityJobs)
                              .arg(m_options.affinityPattern),
                          {QStringLiteral("routing"), QStringLiteral("jobs"), QStringLiteral("total s"),
                           QStringLiteral("jobs/s"), QStringLiteral("model loads per backend"),
                           QStringLiteral("prompts per backend")},
                          rows);
        if (affinitySeconds > 0 && leastSeconds > 0)
            m_report.addTarget(QStringLiteral("affinity: least_loaded total time / affinity total time"),
                               leastSeconds / affinitySeconds, 1.5, false, QString());
    }

    // Routing overhead.
    if (!m_overheadDirect.isEmpty() && !m_overheadRunner.isEmpty()) {
        const double added = m_overheadRunner.percentile(50) - m_overheadDirect.percentile(50);
        json.insert(QStringLiteral("overhead_us"),
                    QJsonObject{{QStringLiteral("n"), m_overheadN},
                                {QStringLiteral("direct"), m_overheadDirect.summary()},
                                {QStringLiteral("runner"), m_overheadRunner.summary()},
                                {QStringLiteral("added_p50"), std::round(added)}});
        auto row = [](const QString &path, const Samples &s) {
            return QStringList{path,
                               QString::number(s.count()),
                               fmt(s.percentile(50) / 1000, 3),
                               fmt(s.percentile(90) / 1000, 3),
                               fmt(s.percentile(99) / 1000, 3),
                               fmt(s.max() / 1000, 3)};
        };
        m_report.addTable(QStringLiteral("Request written -> the simulator handles POST /prompt, ms (one job at a "
                                         "time, %1 idle backend(s); added p50 = runner - direct: %2 ms)")
                              .arg(m_overheadN)
                              .arg(fmt(added / 1000, 3)),
                          {QStringLiteral("path"), QStringLiteral("n"), QStringLiteral("p50"), QStringLiteral("p90"),
                           QStringLiteral("p99"), QStringLiteral("max")},
                          {row(QStringLiteral("direct POST /prompt"), m_overheadDirect),
                           row(QStringLiteral("POST /api/v1/jobs"), m_overheadRunner)});
    }
    for (const QString &skipped : std::as_const(m_skipped))
        m_report.addNote(QStringLiteral("not run: %1").arg(skipped));
    m_report.addNote(QStringLiteral("direct: round robin, each simulator kept at max_in_flight prompts, completion "
                                    "from its WebSocket; runner: POST /api/v1/jobs, at most 2 x max_in_flight x N "
                                    "unfinished (--window), completion from one relay client (types=job_finished,"
                                    "job_failed,job_cancelled, previews off)"));
}

} // namespace cr::bench
