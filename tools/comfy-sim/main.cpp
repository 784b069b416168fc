// comfy-sim: the fake ComfyUI 0.8 as a standalone server, for demos, benchmarks and manual testing.
// It answers the same HTTP routes and WebSocket frames as the real one (see src/sim/fakecomfy.h),
// simulating execution with generated previews and images, plus the control API under /sim/ (faults on
// demand and its state, see src/sim/fakesimcontrol.h). Stops cleanly on SIGINT/SIGTERM.

#include "core/common/unixsignalwatcher.h"
#include "sim/capture.h"
#include "sim/fakecomfy.h"
#include "sim/fakenodecatalog.h"
#include "sim/fakesimcontrol.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QHostAddress>
#include <QLoggingCategory>

#include <cstdio>

Q_LOGGING_CATEGORY(lcSim, "comfyrunner.sim")

namespace {

int intOption(const QCommandLineParser &parser, const QString &name, int min, int max, bool *ok)
{
    bool valid = false;
    const int value = parser.value(name).toInt(&valid);
    if (!valid || value < min || value > max) {
        std::fprintf(stderr, "comfy-sim: --%s must be an integer in [%d, %d], got '%s'\n", qPrintable(name), min, max,
                     qPrintable(parser.value(name)));
        *ok = false;
    }
    return value;
}

// --models FOLDER=a,b,... (repeatable); false after printing what is wrong.
bool applyModels(cr::sim::FakeComfy &comfy, const QStringList &specs)
{
    for (const QString &spec : specs) {
        const qsizetype eq = spec.indexOf(u'=');
        const QString folder = spec.left(eq).trimmed();
        if (eq <= 0 || !cr::sim::FakeNodeCatalog::modelFolders().contains(folder)) {
            std::fprintf(stderr, "comfy-sim: --models wants FOLDER=name,name,... with FOLDER one of %s; got '%s'\n",
                         qPrintable(cr::sim::FakeNodeCatalog::modelFolders().join(u", ")), qPrintable(spec));
            return false;
        }
        QStringList names;
        for (const QString &name : spec.mid(eq + 1).split(u',', Qt::SkipEmptyParts)) {
            if (!name.trimmed().isEmpty() && !names.contains(name.trimmed()))
                names.append(name.trimmed());
        }
        comfy.setModels(folder, names);
    }
    return true;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("comfy-sim"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "A simulated ComfyUI 0.8 server (HTTP + WebSocket on one port).\n\n"
        "Control API on the same port (not a ComfyUI path; answered even while HTTP is stalled or delayed):\n"
        "  GET  /sim/state   name, running and pending prompts, prompts received, models, loaded checkpoint,\n"
        "                    model loads, options, active faults\n"
        "  GET  /sim/prompts the newest 1000 POST /prompt with when each was handled and ended (CLOCK_MONOTONIC ns)\n"
        "  POST /sim/fault   {\"fault\": NAME, ...}, NAME one of:\n"
        "    drop_websockets                 abort every WebSocket\n"
        "    restart [down_ms]               forget queue, history, cache, loaded model; drop every connection\n"
        "                                    (after answering); refuse connections for down_ms\n"
        "    refuse_connections [ms]         stop listening (for ms, or until accept_connections over a kept-alive\n"
        "                                    connection)\n"
        "    accept_connections              listen again\n"
        "    stall_http | unstall_http       accept requests but never answer (except /sim/)\n"
        "    delay_http ms                   answer every request ms later (0 = off)\n"
        "    ws_silent | ws_unsilent         half-open WebSockets: stop sending and reading (new sockets too)\n"
        "    fail_next_prompt [node] [message]  the next prompt raises RuntimeError\n"
        "  Bad input: 400 {\"error\": {\"code\", \"message\", \"details\"}}. See README.md, \"comfy-sim\"."));
    parser.addHelpOption();
    parser.addOptions({
        {QStringLiteral("host"), QStringLiteral("Address to listen on (default 127.0.0.1)."), QStringLiteral("address"),
         QStringLiteral("127.0.0.1")},
        {QStringLiteral("port"), QStringLiteral("Port to listen on (default 8188; 0 = any free port)."),
         QStringLiteral("port"), QStringLiteral("8188")},
        {QStringLiteral("steps"), QStringLiteral("Override every sampler's steps (0 = the workflow's)."),
         QStringLiteral("n"), QStringLiteral("0")},
        {QStringLiteral("step-ms"), QStringLiteral("Milliseconds per sampler step (default 50)."), QStringLiteral("ms"),
         QStringLiteral("50")},
        {QStringLiteral("node-ms"), QStringLiteral("Milliseconds every other node takes (default 20)."),
         QStringLiteral("ms"), QStringLiteral("20")},
        {QStringLiteral("preview-size"), QStringLiteral("Long edge of the previews in pixels (default 512)."),
         QStringLiteral("pixels"), QStringLiteral("512")},
        {QStringLiteral("no-previews"),
         QStringLiteral("Like --preview-method none: previews only when a prompt asks.")},
        {QStringLiteral("name"),
         QStringLiteral("The simulator's name, in its log lines and in /system_stats (devices[0].name becomes "
                        "\"cuda:0 NAME (simulated)\")."),
         QStringLiteral("name")},
        {QStringLiteral("models"),
         QStringLiteral("The files of one model folder, e.g. checkpoints=a.safetensors,b.safetensors (repeatable; "
                        "GET /models/FOLDER, the loaders' combo lists and validation follow). Default: "
                        "checkpoints=broken_ckpt.safetensors,rand_sd15.safetensors,v1-5-pruned-emaonly.safetensors, "
                        "other folders empty."),
         QStringLiteral("folder=names")},
        {QStringLiteral("model-load-ms"),
         QStringLiteral("Extra milliseconds of a checkpoint loader that loads another checkpoint than the last "
                        "one (the first load too), as a GPU model switch; a cached loader costs nothing "
                        "(default 0)."),
         QStringLiteral("ms"), QStringLiteral("0")},
        {QStringLiteral("replay"),
         QStringLiteral("Replay a recorded scenario (e.g. A_ksampler_ok) to every WebSocket that connects, with the "
                        "recorded timing."),
         QStringLiteral("scenario")},
    });
    parser.process(app);

    bool ok = true;
    const int port = intOption(parser, QStringLiteral("port"), 0, 65535, &ok);
    cr::sim::FakeComfyOptions options;
    options.steps = intOption(parser, QStringLiteral("steps"), 0, 10000, &ok);
    options.stepIntervalMs = intOption(parser, QStringLiteral("step-ms"), 0, 60000, &ok);
    options.nodeDelayMs = intOption(parser, QStringLiteral("node-ms"), 0, 60000, &ok);
    options.previewSize = intOption(parser, QStringLiteral("preview-size"), 8, 4096, &ok);
    options.previews = !parser.isSet(QStringLiteral("no-previews"));
    options.modelLoadMs = intOption(parser, QStringLiteral("model-load-ms"), 0, 3600 * 1000, &ok);
    options.name = parser.value(QStringLiteral("name")).trimmed();
    const QHostAddress host(parser.value(QStringLiteral("host")));
    if (host.isNull()) {
        std::fprintf(stderr, "comfy-sim: --host must be an IP address, got '%s'\n",
                     qPrintable(parser.value(QStringLiteral("host"))));
        ok = false;
    }
    if (!ok)
        return 2;

    std::optional<cr::sim::Capture> replay;
    if (parser.isSet(QStringLiteral("replay"))) {
        QString error;
        replay = cr::sim::Capture::load(parser.value(QStringLiteral("replay")), &error);
        if (!replay) {
            std::fprintf(stderr, "comfy-sim: cannot load scenario '%s': %s\n",
                         qPrintable(parser.value(QStringLiteral("replay"))), qPrintable(error));
            return 2;
        }
    }

    if (!options.name.isEmpty()) // every log line names the simulator
        qSetMessagePattern(
            QStringLiteral("comfy-sim %1: %{if-category}%{category}: %{endif}%{message}").arg(options.name));
    cr::sim::FakeComfy comfy(options);
    if (!applyModels(comfy, parser.values(QStringLiteral("models"))))
        return 2;
    comfy.setControlApiEnabled(true);
    if (!comfy.listen(host, quint16(port))) {
        std::fprintf(stderr, "comfy-sim: cannot listen on %s:%d\n", qPrintable(host.toString()), port);
        return 1;
    }
    if (replay) {
        QObject::connect(
            &comfy, &cr::sim::FakeComfy::webSocketConnected, &comfy, [&comfy, &replay](const QString &sid) {
                const int frames
                    = comfy.replayCapture(*replay, QString(), sid, cr::sim::FakeComfy::ReplayPacing::Recorded);
                qCInfo(lcSim) << "replaying" << frames << "frames of" << replay->scenario << "to" << sid;
            });
    }
    cr::UnixSignalWatcher signalWatcher; // SIGINT/SIGTERM: quit the event loop
    QObject::connect(&signalWatcher, &cr::UnixSignalWatcher::terminationRequested, &app, &QCoreApplication::quit);
    if (!signalWatcher.isActive())
        qCWarning(lcSim) << "could not install the SIGINT/SIGTERM handlers";

    const QString label
        = options.name.isEmpty() ? QStringLiteral("comfy-sim") : QStringLiteral("comfy-sim ") + options.name;
    std::printf("%s listening on %s\n", qPrintable(label), qPrintable(comfy.httpUrl().toString()));
    std::fflush(stdout);
    const int rc = QCoreApplication::exec();
    comfy.close();
    std::printf("%s stopped\n", qPrintable(label));
    return rc;
}
