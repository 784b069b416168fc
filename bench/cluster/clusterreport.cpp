// ClusterBench's report: one table per scenario and the JSON document.
#include "bench/cluster/clusterbench.h"

#include <QJsonArray>

namespace cr::bench {

namespace {

QString ms(const Samples &s, double p) { return s.isEmpty() ? QStringLiteral("-") : fmt(s.percentile(p) / 1000, 3); }

QString ratio(double a, double b, int decimals = 2) { return b > 0 ? fmt(a / b, decimals) : QStringLiteral("-"); }

} // namespace

void ClusterBench::buildReport()
{
    QJsonObject &json = m_report.json();
    json.insert(
        QStringLiteral("config"),
        QJsonObject{{QStringLiteral("configs"), QJsonArray::fromStringList(m_options.configs)},
                    {QStringLiteral("jobs"), m_options.jobs},
                    {QStringLiteral("warmup"), m_options.warmup},
                    {QStringLiteral("idle_jobs"), m_options.idleJobs},
                    {QStringLiteral("max_in_flight"), m_options.maxInFlight},
                    {QStringLiteral("lease_s"), m_options.leaseS},
                    {QStringLiteral("workflow"), m_options.stack.workflow},
                    {QStringLiteral("quick"), m_options.quick},
                    {QStringLiteral("sim"), QStringLiteral("--steps 1 --step-ms 0 --node-ms 0 --no-previews")}});
    double sqliteRate = 0;
    for (const Result &r : std::as_const(m_results))
        if (r.config == u"sqlite-1")
            sqliteRate = r.rate();
    QJsonArray results;
    QList<QStringList> burst, idle;
    for (const Result &r : std::as_const(m_results)) {
        QJsonArray perSim;
        for (int n : r.promptsPerSim)
            perSim.append(n);
        results.append(
            QJsonObject{{QStringLiteral("config"), r.config},
                        {QStringLiteral("engine"), r.engine},
                        {QStringLiteral("runners"), r.runners},
                        {QStringLiteral("jobs"), r.jobs},
                        {QStringLiteral("jobs_per_s"), r.rate()},
                        {QStringLiteral("direct_jobs_per_s"), r.directRate()},
                        {QStringLiteral("handover_us"), r.burst.summary()},
                        {QStringLiteral("direct_handover_us"), r.directBurst.summary()},
                        {QStringLiteral("idle_us"), r.idle.summary()},
                        {QStringLiteral("direct_idle_us"), r.directIdle.summary()},
                        {QStringLiteral("prompts_per_simulator"), perSim},
                        {QStringLiteral("runner_cpu_ms_per_job"), r.jobs ? double(r.runnerCpuMs) / r.jobs : 0}});
        QStringList sims;
        for (int n : r.promptsPerSim)
            sims.append(QString::number(n));
        burst.append({r.config, fmt(r.rate(), 1), ms(r.burst, 50), ms(r.burst, 99), fmt(r.directRate(), 1),
                      ms(r.directBurst, 50), ms(r.directBurst, 99), ratio(r.rate(), r.directRate()),
                      ratio(r.rate(), sqliteRate), sims.join(u'/'),
                      fmt(r.jobs ? double(r.runnerCpuMs) / r.jobs : 0, 2)});
        idle.append({r.config, QString::number(r.idle.count()), ms(r.idle, 50), ms(r.idle, 99), ms(r.directIdle, 50),
                     ms(r.directIdle, 99),
                     r.directIdle.isEmpty() ? QStringLiteral("-")
                                            : fmt((r.idle.percentile(50) - r.directIdle.percentile(50)) / 1000, 3)});
    }
    json.insert(QStringLiteral("results"), results);
    m_report.addTable(
        QStringLiteral("Burst: %1 jobs queued while the backends are drained, then resumed (max_in_flight %2 per "
                       "runner, one zero-time simulator per runner); handover = simulator received the prompt - "
                       "max(resume written, end of the run that freed its slot), ms")
            .arg(m_options.jobs)
            .arg(m_options.maxInFlight),
        {QStringLiteral("config"), QStringLiteral("jobs/s"), QStringLiteral("handover p50"),
         QStringLiteral("handover p99"), QStringLiteral("direct jobs/s"), QStringLiteral("direct p50"),
         QStringLiteral("direct p99"), QStringLiteral("jobs/s / direct"), QStringLiteral("jobs/s / sqlite-1"),
         QStringLiteral("prompts per sim"), QStringLiteral("runners cpu ms/job")},
        burst);
    m_report.addTable(QStringLiteral("Idle: one job at a time, POST written -> the simulator received the prompt, ms "
                                     "(direct: POST /prompt to the simulator)"),
                      {QStringLiteral("config"), QStringLiteral("n"), QStringLiteral("p50"), QStringLiteral("p99"),
                       QStringLiteral("direct p50"), QStringLiteral("direct p99"), QStringLiteral("added p50")},
                      idle);
    m_report.addNote(QStringLiteral("every job succeeded exactly once: each job's prompt reached one simulator "
                                    "once, no other prompt did, and every runner lists all jobs as succeeded"));
}

} // namespace cr::bench
