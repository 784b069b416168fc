// bench-api: latency that comfy-runner adds to a blocking run (GET /queue, POST /api/v1/jobs with wait),
// measured against the same workflow submitted straight to comfy-sim in the same run. See docs/benchmarks.md.
// Exit codes: 0 done (whatever the figures), 1 a run failed or the processes did not start, 2 bad arguments.

#include "bench/api/apibench.h"

#include "bench/common/benchcli.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTextStream>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("End-to-end latency of GET /queue and POST /api/v1/jobs (wait) through "
                                               "comfy-runner versus straight to comfy-sim, in one run."));
    p.addHelpOption();
    p.addOptions({
        {QStringLiteral("iterations"), QStringLiteral("Measured runs of each kind (default 200; --quick 30)."),
         QStringLiteral("n")},
        {QStringLiteral("warmup"), QStringLiteral("Runs of each kind before measuring (default 20; --quick 5)."),
         QStringLiteral("n")},
        {QStringLiteral("steps"), QStringLiteral("Sampler steps (comfy-sim --steps, default 2)."), QStringLiteral("n"),
         QStringLiteral("2")},
        {QStringLiteral("step-ms"), QStringLiteral("Milliseconds per step (default 1)."), QStringLiteral("ms"),
         QStringLiteral("1")},
        {QStringLiteral("node-ms"), QStringLiteral("Milliseconds per other node (default 0)."), QStringLiteral("ms"),
         QStringLiteral("0")},
        {QStringLiteral("image-size"), QStringLiteral("Width and height of the generated image (default 64)."),
         QStringLiteral("px"), QStringLiteral("64")},
        {QStringLiteral("preview-size"), QStringLiteral("comfy-sim --preview-size (default 64)."), QStringLiteral("px"),
         QStringLiteral("64")},
        {QStringLiteral("quick"), QStringLiteral("A short run (< 20 s) that checks that everything works.")},
        {QStringLiteral("metrics-ab"),
         QStringLiteral("Also run GET /queue and POST /api/v1/jobs on a second comfy-runner with "
                        "[metrics] enabled = false, interleaved, and report the on/off ratios.")},
    });
    cr::bench::addStackOptions(p, QStringLiteral(CR_BENCH_RUNNER), QStringLiteral(CR_BENCH_SIM),
                               QStringLiteral("comfy-sim executable."), QStringLiteral(CR_SOURCE_DIR "/workflows"));
    p.process(app);

    cr::bench::ApiBenchOptions o;
    bool ok = true;
    o.quick = p.isSet(QStringLiteral("quick"));
    o.metricsAb = p.isSet(QStringLiteral("metrics-ab"));
    if (o.quick) {
        o.iterations = 30;
        o.warmup = 5;
    }
    if (p.isSet(QStringLiteral("iterations")))
        o.iterations = cr::bench::intOption(p, QStringLiteral("iterations"), 1, &ok);
    if (p.isSet(QStringLiteral("warmup")))
        o.warmup = cr::bench::intOption(p, QStringLiteral("warmup"), 0, &ok);
    o.steps = cr::bench::intOption(p, QStringLiteral("steps"), 1, &ok);
    o.stepMs = cr::bench::intOption(p, QStringLiteral("step-ms"), 0, &ok);
    o.nodeMs = cr::bench::intOption(p, QStringLiteral("node-ms"), 0, &ok);
    o.imageSize = cr::bench::intOption(p, QStringLiteral("image-size"), 8, &ok);
    o.previewSize = cr::bench::intOption(p, QStringLiteral("preview-size"), 8, &ok);
    if (!ok)
        return 2;
    cr::bench::readStackOptions(p, o.stack);

    cr::bench::ApiBench bench(o);
    return cr::bench::runAndReport(bench, p, "bench-api");
}
