// bench-cluster (issue #14): claim-to-handover latency and jobs/s of 1 and 3 comfy-runner processes sharing
// one job store (SQLite with one runner, PostgreSQL with 1 and 3) in front of zero-time simulators, each
// configuration against the same simulators driven directly. See docs/benchmarks.md ("#14 cluster").
// The PostgreSQL configurations need the temporary cluster of scripts/pg-test-cluster.sh: without
// CR_TEST_PG_URL, bench-cluster runs itself again under that script (a free port, removed afterwards).
// Exit codes: 0 done (whatever the figures), 1 a job failed, ran twice or the processes did not start,
// 2 bad arguments.

#include "bench/cluster/clusterbench.h"

#include "bench/common/benchcli.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QProcess>
#include <QTextStream>

#include <algorithm>

namespace {

// Runs this program again with the same arguments under scripts/pg-test-cluster.sh; its exit code, or 77
// when the script found no PostgreSQL.
int runUnderPostgres(const QCoreApplication &app)
{
    QProcess child;
    child.setProcessChannelMode(QProcess::ForwardedChannels);
    child.start(QStringLiteral(CR_SOURCE_DIR "/scripts/pg-test-cluster.sh"),
                QStringList{QCoreApplication::applicationFilePath()} + app.arguments().mid(1));
    if (!child.waitForStarted(10'000))
        return 1;
    child.waitForFinished(-1); // this process only waits: the measured ones are the child's children
    return child.exitStatus() == QProcess::NormalExit ? child.exitCode() : 1;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "comfy-runner processes sharing one job store (SQLite, PostgreSQL) in front of zero-time comfy-sim: "
        "jobs/s and claim-to-handover latency, against the same simulators driven directly."));
    p.addHelpOption();
    p.addOptions({
        {QStringLiteral("configs"),
         QStringLiteral("Configurations, ENGINE-RUNNERS (default sqlite-1,pg-1,pg-3; sqlite takes 1 runner)."),
         QStringLiteral("list"), QStringLiteral("sqlite-1,pg-1,pg-3")},
        {QStringLiteral("jobs"), QStringLiteral("Jobs of a burst (default 600; --quick 60)."), QStringLiteral("n")},
        {QStringLiteral("warmup"), QStringLiteral("Unmeasured jobs per configuration (default 10; --quick 3)."),
         QStringLiteral("n")},
        {QStringLiteral("idle-jobs"), QStringLiteral("Jobs of the idle scenario (default 60; --quick 6)."),
         QStringLiteral("n")},
        {QStringLiteral("max-in-flight"), QStringLiteral("[[backends]] max_in_flight (default 2)."),
         QStringLiteral("n"), QStringLiteral("2")},
        {QStringLiteral("image-size"), QStringLiteral("Width and height of the generated image (default 64)."),
         QStringLiteral("px"), QStringLiteral("64")},
        {QStringLiteral("quick"), QStringLiteral("A short run that checks that every job ran exactly once (CTest).")},
    });
    cr::bench::addStackOptions(p, QStringLiteral(CR_BENCH_RUNNER), QStringLiteral(CR_BENCH_SIM),
                               QStringLiteral("comfy-sim executable."), QStringLiteral(CR_SOURCE_DIR "/workflows"));
    p.process(app);

    cr::bench::ClusterBenchOptions o;
    bool ok = true;
    QTextStream err(stderr);
    o.quick = p.isSet(QStringLiteral("quick"));
    if (o.quick) {
        o.jobs = 60;
        o.warmup = 3;
        o.idleJobs = 6;
    }
    o.configs = p.value(QStringLiteral("configs")).split(u',', Qt::SkipEmptyParts);
    for (const QString &c : std::as_const(o.configs)) {
        const int n = c.section(u'-', 1).toInt();
        const QString engine = c.section(u'-', 0, 0);
        if ((engine != u"sqlite" && engine != u"pg") || n < 1 || n > 8 || (engine == u"sqlite" && n != 1)) {
            err << "bench-cluster: a configuration is sqlite-1 or pg-N (N in [1, 8]), got '" << c << "'\n";
            ok = false;
        }
    }
    auto optional = [&](const char *name, int min, int *value) {
        if (p.isSet(QLatin1String(name)))
            *value = cr::bench::intOption(p, QLatin1String(name), min, &ok);
    };
    optional("jobs", 1, &o.jobs);
    optional("warmup", 0, &o.warmup);
    optional("idle-jobs", 0, &o.idleJobs);
    o.maxInFlight = cr::bench::intOption(p, QStringLiteral("max-in-flight"), 1, &ok);
    o.imageSize = cr::bench::intOption(p, QStringLiteral("image-size"), 8, &ok);
    if (o.jobs + o.warmup + o.idleJobs > 900) { // GET /sim/prompts lists the newest 1000
        err << "bench-cluster: --jobs + --warmup + --idle-jobs must stay within 900\n";
        ok = false;
    }
    if (!ok)
        return 2;
    cr::bench::readStackOptions(p, o.stack);

    const bool wantsPostgres
        = std::any_of(o.configs.cbegin(), o.configs.cend(), [](const QString &c) { return c.startsWith(u"pg-"); });
    if (wantsPostgres && !cr::bench::ClusterStack::postgresAvailable()) {
        const int rc = runUnderPostgres(app);
        if (rc != 77)
            return rc;
        err << "bench-cluster: no PostgreSQL (scripts/pg-test-cluster.sh exit 77): the SQLite configurations only\n";
    }

    cr::bench::ClusterBench bench(o);
    return cr::bench::runAndReport(bench, p, "bench-cluster");
}
