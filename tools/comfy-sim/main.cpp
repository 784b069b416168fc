// comfy-sim: the fake ComfyUI 0.8 as a standalone server, for demos, benchmarks and manual testing.
// It answers the same HTTP routes and WebSocket frames as the real one (see src/sim/fakecomfy.h),
// simulating execution with generated previews and images. Stops cleanly on SIGINT/SIGTERM.

#include "core/common/unixsignalwatcher.h"
#include "sim/capture.h"
#include "sim/fakecomfy.h"

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

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("comfy-sim"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("A simulated ComfyUI 0.8 server (HTTP + WebSocket on one port)."));
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

    cr::sim::FakeComfy comfy(options);
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

    std::printf("comfy-sim listening on %s\n", qPrintable(comfy.httpUrl().toString()));
    std::fflush(stdout);
    const int rc = QCoreApplication::exec();
    comfy.close();
    std::printf("comfy-sim stopped\n");
    return rc;
}
