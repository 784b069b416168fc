// bench-api: latency that comfy-runner adds to a blocking run (GET /queue, POST /api/v1/jobs with wait),
// measured against the same workflow submitted straight to comfy-sim in the same run. See docs/benchmarks.md.
// Exit codes: 0 done (whatever the figures), 1 a run failed or the processes did not start, 2 bad arguments.

#include "bench/api/apibench.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFileInfo>
#include <QTextStream>

namespace {

int intValue(const QCommandLineParser &p, const QString &name, int min, bool *ok)
{
    bool valid = false;
    const int v = p.value(name).toInt(&valid);
    if (!valid || v < min) {
        QTextStream(stderr) << "bench-api: --" << name << " must be an integer >= " << min << '\n';
        *ok = false;
    }
    return v;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("End-to-end latency of GET /queue and POST /api/v1/jobs (wait) through "
                                               "comfy-runner versus straight to comfy-sim, in one run."));
    p.addHelpOption();
    p.addOptions({
        {QStringLiteral("iterations"), QStringLiteral("Measured runs of each kind (default 200; --quick 30)."), QStringLiteral("n")},
        {QStringLiteral("warmup"), QStringLiteral("Runs of each kind before measuring (default 20; --quick 5)."), QStringLiteral("n")},
        {QStringLiteral("steps"), QStringLiteral("Sampler steps (comfy-sim --steps, default 2)."), QStringLiteral("n"), QStringLiteral("2")},
        {QStringLiteral("step-ms"), QStringLiteral("Milliseconds per step (default 1)."), QStringLiteral("ms"), QStringLiteral("1")},
        {QStringLiteral("node-ms"), QStringLiteral("Milliseconds per other node (default 0)."), QStringLiteral("ms"), QStringLiteral("0")},
        {QStringLiteral("image-size"), QStringLiteral("Width and height of the generated image (default 64)."), QStringLiteral("px"),
         QStringLiteral("64")},
        {QStringLiteral("preview-size"), QStringLiteral("comfy-sim --preview-size (default 64)."), QStringLiteral("px"), QStringLiteral("64")},
        {QStringLiteral("quick"), QStringLiteral("A short run (< 20 s) that checks that everything works.")},
        {QStringLiteral("json"), QStringLiteral("Also write the results as JSON to this file."), QStringLiteral("file")},
        {QStringLiteral("runner"), QStringLiteral("comfy-runner executable."), QStringLiteral("path"), QStringLiteral(CR_BENCH_RUNNER)},
        {QStringLiteral("sim"), QStringLiteral("comfy-sim executable."), QStringLiteral("path"), QStringLiteral(CR_BENCH_SIM)},
        {QStringLiteral("workflows-dir"), QStringLiteral("Workflows folder (default: the repository's)."), QStringLiteral("dir"),
         QStringLiteral(CR_SOURCE_DIR "/workflows")},
        {QStringLiteral("keep-logs"), QStringLiteral("Keep the processes' logs (the folder is printed).")},
        {QStringLiteral("runner-config"), QStringLiteral("A configuration file for comfy-runner (ports, ComfyUI URL and folders are "
                                                         "still set by the benchmark)."),
         QStringLiteral("file")},
        {QStringLiteral("runner-env"), QStringLiteral("KEY=VALUE added to comfy-runner's environment (repeatable; for experiments)."),
         QStringLiteral("kv")},
    });
    p.process(app);

    cr::bench::ApiBenchOptions o;
    bool ok = true;
    o.quick = p.isSet(QStringLiteral("quick"));
    if (o.quick) {
        o.iterations = 30;
        o.warmup = 5;
    }
    if (p.isSet(QStringLiteral("iterations")))
        o.iterations = intValue(p, QStringLiteral("iterations"), 1, &ok);
    if (p.isSet(QStringLiteral("warmup")))
        o.warmup = intValue(p, QStringLiteral("warmup"), 0, &ok);
    o.steps = intValue(p, QStringLiteral("steps"), 1, &ok);
    o.stepMs = intValue(p, QStringLiteral("step-ms"), 0, &ok);
    o.nodeMs = intValue(p, QStringLiteral("node-ms"), 0, &ok);
    o.imageSize = intValue(p, QStringLiteral("image-size"), 8, &ok);
    o.previewSize = intValue(p, QStringLiteral("preview-size"), 8, &ok);
    if (!ok)
        return 2;
    o.stack.runnerProgram = p.value(QStringLiteral("runner"));
    o.stack.simProgram = p.value(QStringLiteral("sim"));
    o.stack.workflowsDir = p.value(QStringLiteral("workflows-dir"));
    o.stack.keepLogs = p.isSet(QStringLiteral("keep-logs"));
    o.stack.runnerEnvironment = p.values(QStringLiteral("runner-env"));
    if (p.isSet(QStringLiteral("runner-config")))
        o.stack.runnerArguments << QStringLiteral("--config") << QFileInfo(p.value(QStringLiteral("runner-config"))).absoluteFilePath();

    cr::bench::ApiBench bench(o);
    QString error;
    if (!bench.run(&error)) {
        QTextStream(stderr) << "bench-api: " << error << '\n';
        return 1;
    }
    bench.report().finish(bench.processIds());
    bench.report().print();
    if (p.isSet(QStringLiteral("json")) && !bench.report().writeJson(p.value(QStringLiteral("json")), &error)) {
        QTextStream(stderr) << "bench-api: cannot write " << p.value(QStringLiteral("json")) << ": " << error << '\n';
        return 1;
    }
    return 0;
}
