// bench-relay: one-way latency, loss and throughput of the event relay against the same clients connected
// straight to the simulator, in one run, plus one stalled client among K. See docs/benchmarks.md.
// Exit codes: 0 done (whatever the figures), 1 something broke (see RelayBench::run), 2 bad arguments.

#include "bench/common/benchwait.h"
#include "bench/relay/relaybench.h"

#include "bench/common/benchcli.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTextStream>

namespace {

struct IntOption {
    const char *name;
    const char *help;
    int *target;
    int min;
};

} // namespace

int main(int argc, char *argv[])
{
    cr::bench::keepFreedMemory(); // the clients must not be the bottleneck
    QCoreApplication app(argc, argv);
    cr::bench::RelayBenchOptions o;
    const bool quick = app.arguments().contains(QStringLiteral("--quick"));
    if (quick) {
        o.rounds = 1;
        o.latencySteps = 50;
        o.throughputSteps = 150;
        o.warmupSteps = 5;
        o.stalledSteps = 50;
        o.stalledFlatSteps = 150;
        o.jobs = 2;
    }
    const IntOption ints[] = {
        {"clients", "Clients per path, K (default 10; the stalled scenario needs 2 or more).", &o.clients, 1},
        {"rounds", "Direct/relay alternations (default 5, throughput at most 2; --quick 1).", &o.rounds, 1},
        {"step-ms", "Interval of the paced bursts in ms (default 20).", &o.stepMs, 1},
        {"latency-steps", "Paced steps per path (default 1000; --quick 50).", &o.latencySteps, 1},
        {"throughput-steps", "Flat-out steps per path (default 1000; --quick 150).", &o.throughputSteps, 1},
        {"warmup-steps", "Steps before each measured burst (default 10; --quick 5).", &o.warmupSteps, 1},
        {"preview-size", "Preview long edge in pixels (default 512).", &o.previewPx, 8},
        {"stalled-steps", "Paced steps with a stalled client (default 200; --quick 50).", &o.stalledSteps, 1},
        {"stalled-flat-steps", "Steps at the direct flat-out rate with a stalled client (default 1000; --quick 150).",
         &o.stalledFlatSteps, 1},
        {"jobs", "Jobs run through the REST API during the stalled scenario (default 3; --quick 2).", &o.jobs, 0},
    };
    QCommandLineParser p;
    p.setApplicationDescription(
        QStringLiteral("Latency, loss and throughput of comfy-runner's event relay versus clients "
                       "connected straight to the simulator, in one run."));
    p.addHelpOption();
    for (const IntOption &i : ints)
        p.addOption({QString::fromLatin1(i.name), QString::fromLatin1(i.help), QStringLiteral("n")});
    p.addOptions({
        {QStringLiteral("quick"), QStringLiteral("A short run (< 20 s) that checks that everything works.")},
        {QStringLiteral("scenarios"),
         QStringLiteral("Comma-separated subset of latency,throughput,stalled (default all; stalled "
                        "uses the rate measured by throughput, or flat out without it)."),
         QStringLiteral("list")},
        {QStringLiteral("relay-query"),
         QStringLiteral("Query appended to the relay clients' URL, e.g. envelope=1 (default: none)."),
         QStringLiteral("query")},
        {QStringLiteral("metrics-ab"),
         QStringLiteral("Run the latency and throughput scenarios also on a second simulator + "
                        "comfy-runner pair with [metrics] enabled = false, alternating every round, "
                        "and report the on/off ratios.")},
    });
    cr::bench::addStackOptions(p, QStringLiteral(CR_BENCH_RUNNER), QStringLiteral(CR_BENCH_SIM),
                               QStringLiteral("bench-relay-sim executable."),
                               QStringLiteral(CR_SOURCE_DIR "/workflows"));
    p.process(app);
    for (const IntOption &i : ints) {
        const QString name = QString::fromLatin1(i.name);
        if (!p.isSet(name))
            continue;
        bool ok = false;
        *i.target = p.value(name).toInt(&ok);
        if (!ok || *i.target < i.min) {
            QTextStream(stderr) << "bench-relay: --" << name << " must be an integer >= " << i.min << '\n';
            return 2;
        }
    }
    o.quick = quick;
    o.metricsAb = p.isSet(QStringLiteral("metrics-ab"));
    o.relayQuery = p.value(QStringLiteral("relay-query"));
    if (p.isSet(QStringLiteral("scenarios"))) {
        o.scenarios = p.value(QStringLiteral("scenarios")).split(u',', Qt::SkipEmptyParts);
        for (const QString &name : std::as_const(o.scenarios)) {
            if (name != u"latency" && name != u"throughput" && name != u"stalled") {
                QTextStream(stderr) << "bench-relay: unknown scenario " << name << '\n';
                return 2;
            }
        }
    }
    cr::bench::readStackOptions(p, o.stack);

    cr::bench::RelayBench bench(o);
    return cr::bench::runAndReport(bench, p, "bench-relay");
}
