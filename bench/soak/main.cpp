// bench-soak: 2000 jobs through comfy-runner against comfy-sim at zero step time, 20 relay clients of which 2
// never read. Every healthy client must get every event of every job; reports jobs/s and the service's RSS
// after warm-up and at the end. See docs/benchmarks.md ("soak").
// Exit codes: 0 done, 1 a job or an event went missing or the processes did not start, 2 bad arguments.

#include "bench/soak/soakbench.h"

#include "bench/common/benchcli.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTextStream>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Many jobs through comfy-runner with healthy and stalled relay clients: "
                                               "no event lost, memory flat, jobs/s."));
    p.addHelpOption();
    p.addOptions({
        {QStringLiteral("jobs"), QStringLiteral("Jobs to run (default 2000; --quick 40)."), QStringLiteral("n")},
        {QStringLiteral("warmup"),
         QStringLiteral("Jobs before the warm-up RSS and the jobs/s clock (default 200; --quick 10)."),
         QStringLiteral("n")},
        {QStringLiteral("clients"), QStringLiteral("Relay clients, the stalled ones included (default 20)."),
         QStringLiteral("n"), QStringLiteral("20")},
        {QStringLiteral("stalled"), QStringLiteral("Relay clients that never read (default 2)."), QStringLiteral("n"),
         QStringLiteral("2")},
        {QStringLiteral("window"), QStringLiteral("Unfinished jobs at most (default 16)."), QStringLiteral("n"),
         QStringLiteral("16")},
        {QStringLiteral("steps"), QStringLiteral("Sampler steps (comfy-sim --steps, default 2)."), QStringLiteral("n"),
         QStringLiteral("2")},
        {QStringLiteral("preview-size"), QStringLiteral("comfy-sim --preview-size (default 64)."), QStringLiteral("px"),
         QStringLiteral("64")},
        {QStringLiteral("quick"), QStringLiteral("A short run (40 jobs) that checks that everything works.")},
    });
    cr::bench::addStackOptions(p, QStringLiteral(CR_BENCH_RUNNER), QStringLiteral(CR_BENCH_SIM),
                               QStringLiteral("comfy-sim executable."), QStringLiteral(CR_SOURCE_DIR "/workflows"));
    p.process(app);

    cr::bench::SoakOptions o;
    bool ok = true;
    o.quick = p.isSet(QStringLiteral("quick"));
    if (o.quick) {
        o.jobs = 40;
        o.warmupJobs = 10;
    }
    if (p.isSet(QStringLiteral("jobs")))
        o.jobs = cr::bench::intOption(p, QStringLiteral("jobs"), 2, &ok);
    if (p.isSet(QStringLiteral("warmup")))
        o.warmupJobs = cr::bench::intOption(p, QStringLiteral("warmup"), 0, &ok);
    o.clients = cr::bench::intOption(p, QStringLiteral("clients"), 1, &ok);
    o.stalled = cr::bench::intOption(p, QStringLiteral("stalled"), 0, &ok);
    o.window = cr::bench::intOption(p, QStringLiteral("window"), 1, &ok);
    o.steps = cr::bench::intOption(p, QStringLiteral("steps"), 1, &ok);
    o.previewSize = cr::bench::intOption(p, QStringLiteral("preview-size"), 8, &ok);
    if (ok && o.stalled >= o.clients) {
        QTextStream(stderr) << "bench-soak: --stalled must be below --clients (one healthy client at least)\n";
        ok = false;
    }
    if (!ok)
        return 2;
    cr::bench::readStackOptions(p, o.stack);

    cr::bench::SoakBench bench(o);
    return cr::bench::runAndReport(bench, p, "bench-soak");
}
