// comfy-runner-monitor: parses the options, applies the palette, shows the window and connects.
// With --run-workflow NAME --screenshot FILE it runs NAME once, saves the window when the job is done
// (its outputs in the gallery) and exits: 0 when the job succeeded, 1 otherwise or on timeout, 2 for bad
// options.

#include "gui/app/mainwindow.h"
#include "gui/app/monitoroptions.h"
#include "gui/app/theme.h"

#include <QApplication>
#include <QSettings>
#include <QTimer>

#include <cstdio>
#include <memory>

int main(int argc, char *argv[])
{
    // Options first, so that --help and --version work without a display.
    QStringList arguments;
    for (int i = 0; i < argc; ++i)
        arguments.append(QString::fromLocal8Bit(argv[i]));
    using cr::monitor::MonitorOptions;
    const MonitorOptions options = cr::monitor::parseMonitorOptions(arguments);
    switch (options.action) {
    case MonitorOptions::Action::Help:
        std::fputs(qPrintable(options.message), stdout);
        return 0;
    case MonitorOptions::Action::Version:
        std::printf("comfy-runner-monitor %s\n", COMFY_RUNNER_VERSION);
        return 0;
    case MonitorOptions::Action::Error:
        std::fprintf(stderr, "comfy-runner-monitor: %s\n(see comfy-runner-monitor --help)\n",
                     qPrintable(options.message));
        return 2;
    case MonitorOptions::Action::Run:
        break;
    }

    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("comfy_runner"));
    QApplication::setApplicationName(QStringLiteral("comfy-runner-monitor"));
    QApplication::setApplicationVersion(QStringLiteral(COMFY_RUNNER_VERSION));
    QApplication::setWindowIcon(cr::monitor::MainWindow::applicationIcon());
    QGuiApplication::setDesktopFileName(QStringLiteral("comfy-runner-monitor"));

    auto settings = options.settingsFile.isEmpty()
        ? std::make_unique<QSettings>()
        : std::make_unique<QSettings>(options.settingsFile, QSettings::IniFormat);
    cr::monitor::theme::apply(options.dark.value_or(settings->value(QStringLiteral("view/dark"), false).toBool()));

    cr::monitor::MainWindow window(settings.get());
    if (options.size.isValid())
        window.resize(options.size);
    window.show();

    if (!options.screenshot.isEmpty()) {
        QObject::connect(&window, &cr::monitor::MainWindow::scriptedRunDone, &app, [&](const QString &jobId, bool ok) {
            const bool saved = window.grab().save(options.screenshot);
            qCInfo(lcMonitorUi).noquote() << "job" << jobId << (ok ? "succeeded" : "did not succeed") << "; screenshot"
                                          << (saved ? "saved to" : "could not be saved to") << options.screenshot;
            QApplication::exit(ok && saved ? 0 : 1);
        });
        QTimer::singleShot(options.timeoutS * 1000, &app, [&] {
            window.grab().save(options.screenshot);
            qCWarning(lcMonitorUi) << "gave up after" << options.timeoutS << "s; saved the window as it is";
            QApplication::exit(1);
        });
    }
    if (!options.runWorkflow.isEmpty())
        window.runWhenReady(options.runWorkflow, options.inputs);
    if (options.connect) {
        const QString runner = !options.runnerUrl.isEmpty()
            ? options.runnerUrl
            : settings->value(QStringLiteral("connection/runner"), QStringLiteral("http://127.0.0.1:8189")).toString();
        const QString relay = !options.runnerUrl.isEmpty() || !options.relayUrl.isEmpty()
            ? options.relayUrl
            : settings->value(QStringLiteral("connection/relay")).toString();
        window.connectTo(runner, relay, options.token);
    }
    return QApplication::exec();
}
