// bench-pool (issue #13): jobs/s of comfy-runner in front of N = 1, 2, 4 simulated ComfyUIs against the same
// simulators driven directly, model-aware against least-loaded routing on a mixed-checkpoint workload, and the
// routing overhead per job. See docs/benchmarks.md ("bench-pool").
// Exit codes: 0 done (whatever the figures), 1 a job failed or the processes did not start, 2 bad arguments.

#include "bench/pool/poolbench.h"

#include "bench/common/benchcli.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTextStream>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "comfy-runner in front of a pool of comfy-sim: throughput against the simulators driven directly, "
        "affinity against least-loaded routing, routing overhead per job; each with its baseline in the run."));
    p.addHelpOption();
    p.addOptions({
        {QStringLiteral("sizes"), QStringLiteral("Pool sizes of the throughput scenario (default 1,2,4; --quick 1,2)."),
         QStringLiteral("list")},
        {QStringLiteral("jobs"), QStringLiteral("Measured jobs per backend and batch (default 40; --quick 6)."),
         QStringLiteral("n")},
        {QStringLiteral("warmup"), QStringLiteral("Unmeasured jobs per backend and path (default 2; --quick 1)."),
         QStringLiteral("n")},
        {QStringLiteral("rounds"),
         QStringLiteral("Direct and runner batches per size, alternating (default 2; "
                        "--quick 1)."),
         QStringLiteral("n")},
        {QStringLiteral("steps"), QStringLiteral("comfy-sim --steps (default 4)."), QStringLiteral("n"),
         QStringLiteral("4")},
        {QStringLiteral("step-ms"), QStringLiteral("comfy-sim --step-ms (default 25)."), QStringLiteral("ms"),
         QStringLiteral("25")},
        {QStringLiteral("node-ms"), QStringLiteral("comfy-sim --node-ms (default 0)."), QStringLiteral("ms"),
         QStringLiteral("0")},
        {QStringLiteral("preview-size"), QStringLiteral("comfy-sim --preview-size (default 64)."), QStringLiteral("px"),
         QStringLiteral("64")},
        {QStringLiteral("image-size"), QStringLiteral("Width and height of the generated image (default 64)."),
         QStringLiteral("px"), QStringLiteral("64")},
        {QStringLiteral("max-in-flight"),
         QStringLiteral("[[backends]] max_in_flight, and the direct driver's prompts per simulator (default 2)."),
         QStringLiteral("n"), QStringLiteral("2")},
        {QStringLiteral("window"), QStringLiteral("Unfinished runner jobs at most (default 2 x max-in-flight x N)."),
         QStringLiteral("n"), QStringLiteral("0")},
        {QStringLiteral("affinity-jobs"), QStringLiteral("Jobs of the mixed workload (default 16; --quick 8)."),
         QStringLiteral("n")},
        {QStringLiteral("model-load-ms"),
         QStringLiteral("comfy-sim --model-load-ms of the affinity scenario (default 2000; --quick 300)."),
         QStringLiteral("ms")},
        {QStringLiteral("affinity-pattern"),
         QStringLiteral("Checkpoints of consecutive jobs, A or B, repeated (default AABB; see docs/benchmarks.md)."),
         QStringLiteral("pattern"), QStringLiteral("AABB")},
        {QStringLiteral("overhead-iterations"),
         QStringLiteral("Jobs per path for the routing overhead (default 30; "
                        "--quick 5)."),
         QStringLiteral("n")},
        {QStringLiteral("scenarios"), QStringLiteral("Which to run (default throughput,affinity,overhead)."),
         QStringLiteral("list"), QStringLiteral("throughput,affinity,overhead")},
        {QStringLiteral("quick"), QStringLiteral("A short run that checks that everything completes (CTest).")},
    });
    cr::bench::addStackOptions(p, QStringLiteral(CR_BENCH_RUNNER), QStringLiteral(CR_BENCH_SIM),
                               QStringLiteral("comfy-sim executable."), QStringLiteral(CR_SOURCE_DIR "/workflows"));
    p.process(app);

    cr::bench::PoolBenchOptions o;
    bool ok = true;
    QTextStream err(stderr);
    o.quick = p.isSet(QStringLiteral("quick"));
    if (o.quick) {
        o.sizes = {1, 2};
        o.jobsPerBackend = 6;
        o.warmupPerBackend = 1;
        o.rounds = 1;
        o.affinityJobs = 8;
        o.modelLoadMs = 300;
        o.overheadIterations = 5;
    }
    if (p.isSet(QStringLiteral("sizes"))) {
        o.sizes.clear();
        for (const QString &part : p.value(QStringLiteral("sizes")).split(u',', Qt::SkipEmptyParts)) {
            bool valid = false;
            const int n = part.trimmed().toInt(&valid);
            if (!valid || n < 1 || n > 32) {
                err << "bench-pool: --sizes wants a list of integers in [1, 32], got '" << part << "'\n";
                ok = false;
            }
            o.sizes.append(n);
        }
    }
    auto optional = [&](const char *name, int min, int *value) {
        if (p.isSet(QLatin1String(name)))
            *value = cr::bench::intOption(p, QLatin1String(name), min, &ok);
    };
    optional("jobs", 1, &o.jobsPerBackend);
    optional("warmup", 0, &o.warmupPerBackend);
    optional("rounds", 1, &o.rounds);
    optional("affinity-jobs", 2, &o.affinityJobs);
    optional("model-load-ms", 0, &o.modelLoadMs);
    optional("overhead-iterations", 1, &o.overheadIterations);
    o.steps = cr::bench::intOption(p, QStringLiteral("steps"), 1, &ok);
    o.stepMs = cr::bench::intOption(p, QStringLiteral("step-ms"), 0, &ok);
    o.nodeMs = cr::bench::intOption(p, QStringLiteral("node-ms"), 0, &ok);
    o.previewSize = cr::bench::intOption(p, QStringLiteral("preview-size"), 8, &ok);
    o.imageSize = cr::bench::intOption(p, QStringLiteral("image-size"), 8, &ok);
    o.maxInFlight = cr::bench::intOption(p, QStringLiteral("max-in-flight"), 1, &ok);
    o.window = cr::bench::intOption(p, QStringLiteral("window"), 0, &ok);
    o.affinityPattern = p.value(QStringLiteral("affinity-pattern"));
    if (o.affinityPattern.isEmpty() || o.affinityPattern.contains(QRegularExpression(QStringLiteral("[^AB]")))) {
        err << "bench-pool: --affinity-pattern wants letters A and B, got '" << o.affinityPattern << "'\n";
        ok = false;
    }
    o.scenarios = p.value(QStringLiteral("scenarios")).split(u',', Qt::SkipEmptyParts);
    for (const QString &s : std::as_const(o.scenarios)) {
        if (s != u"throughput" && s != u"affinity" && s != u"overhead") {
            err << "bench-pool: unknown scenario '" << s << "' (throughput, affinity, overhead)\n";
            ok = false;
        }
    }
    if (!ok)
        return 2;
    cr::bench::readStackOptions(p, o.stack);

    cr::bench::PoolBench bench(o);
    return cr::bench::runAndReport(bench, p, "bench-pool");
}
