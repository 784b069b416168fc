// comfy-runner: parses the command line, loads the configuration, builds the Service and runs the loop.
// Exit codes: 0 normal (also after SIGINT/SIGTERM), 1 start-up failure, 2 bad command line or configuration.
// SIGHUP reloads the configuration (Service::reload).

#include "core/common/listenerguard.h"
#include "core/common/memorytrimmer.h"
#include "core/common/unixsignalwatcher.h"
#include "core/config/commandline.h"
#include "core/config/effectiveconfig.h"
#include "core/service/logsink.h"
#include "core/service/service.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QTextStream>

#include <cstdio>

Q_LOGGING_CATEGORY(lcMain, "comfyrunner.main")

namespace {

constexpr int kExitStartup = 1;
constexpr int kExitConfig = 2;

QTextStream &out()
{
    static QTextStream s(stdout);
    return s;
}

QTextStream &err()
{
    static QTextStream s(stderr);
    return s;
}

} // namespace

int main(int argc, char *argv[])
{
    cr::tuneAllocator(); // glibc keeps preview-sized buffers on the heap (core/common/memorytrimmer.h)

    cr::installLogSink(); // the journal with priorities under systemd, else "time level category: message"
    // Debug output is opt-in (QT_LOGGING_RULES="comfyrunner.*.debug=true").
    if (qEnvironmentVariableIsEmpty("QT_LOGGING_RULES"))
        QLoggingCategory::setFilterRules(QStringLiteral("*.debug=false"));
    // Qt's own event dispatcher rather than GLib's: a service has no GLib sources to integrate, and GLib's
    // wakes its loop through an eventfd whenever a socket notifier changes, two extra syscalls per HTTP
    // request and per relayed frame (docs/benchmarks.md, #17). QT_NO_GLIB set but empty keeps GLib's.
    if (!qEnvironmentVariableIsSet("QT_NO_GLIB"))
        qputenv("QT_NO_GLIB", "1");
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("comfy-runner"));
    QCoreApplication::setApplicationVersion(QStringLiteral(COMFY_RUNNER_VERSION));

    const cr::CommandLine cl = cr::CommandLine::parse(QCoreApplication::arguments());
    switch (cl.action) {
    case cr::CommandLine::Action::Help:
        out() << cl.helpText;
        return 0;
    case cr::CommandLine::Action::Version:
        out() << "comfy-runner " << QCoreApplication::applicationVersion() << '\n';
        return 0;
    case cr::CommandLine::Action::Error:
        err() << "comfy-runner: " << cl.error << "\n(see comfy-runner --help)\n";
        return kExitConfig;
    case cr::CommandLine::Action::Run:
    case cr::CommandLine::Action::CheckConfig:
        break;
    }

    QString file = cl.configFile;
    if (file.isEmpty() && QFileInfo::exists(QStringLiteral("config.toml")))
        file = QStringLiteral("config.toml");
    cr::EffectiveConfig loaded = cr::loadEffectiveConfig(file, cl);
    for (const QString &w : std::as_const(loaded.warnings))
        err() << w << '\n';
    for (const QString &e : std::as_const(loaded.errors))
        err() << e << '\n';
    for (const QString &p : std::as_const(loaded.problems))
        err() << "comfy-runner: " << p << '\n';
    if (!loaded.ok())
        return kExitConfig;
    cr::Config config = std::move(*loaded.config);

    if (cl.action == cr::CommandLine::Action::CheckConfig) {
        out() << config.toToml();
        return 0;
    }

    // Every connection is a descriptor: use all the hard limit allows (the soft default is often 1024).
    qCInfo(lcMain) << "file descriptor limit:" << cr::AcceptBackoff::raiseDescriptorLimit();
    cr::UnixSignalWatcher signalWatcher({SIGINT, SIGTERM, SIGHUP});
    cr::Service service(std::move(config));
    QObject::connect(&signalWatcher, &cr::UnixSignalWatcher::terminationRequested, &app, [&service](int sig) {
        qCInfo(lcMain) << "signal" << sig << "received, shutting down";
        service.stop();
        QCoreApplication::quit();
    });
    // SIGHUP: the same file with the same command line, read again; the service applies what it can.
    QObject::connect(&signalWatcher, &cr::UnixSignalWatcher::hangupReceived, &app, [&service, file, cl] {
        qCInfo(lcMain).noquote() << "SIGHUP received, reloading"
                                 << (file.isEmpty() ? QStringLiteral("the defaults") : file);
        service.reload(cr::loadEffectiveConfig(file, cl));
    });
    QString error;
    if (!service.start(&error)) {
        err() << "comfy-runner: " << error << '\n';
        return kExitStartup;
    }
    const int rc = app.exec();
    qCInfo(lcMain) << "stopped";
    return rc;
}
