#include "gui/app/monitoroptions.h"

#include <QCommandLineParser>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcessEnvironment>
#include <QRegularExpression>

namespace cr::monitor {

MonitorOptions parseMonitorOptions(const QStringList &arguments)
{
    MonitorOptions o;
    QCommandLineParser p;
    p.setApplicationDescription(
        QStringLiteral("comfy-runner-monitor: watch a comfy_runner service (jobs, live previews, outputs)."));
    const QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")}, QStringLiteral("Show this help."));
    const QCommandLineOption version(QStringLiteral("version"), QStringLiteral("Show the version."));
    const QCommandLineOption url(QStringLiteral("url"),
                                 QStringLiteral("Runner REST URL (default: last used, else http://127.0.0.1:8189)."),
                                 QStringLiteral("url"));
    const QCommandLineOption relay(
        QStringLiteral("relay"),
        QStringLiteral("Relay URL (default: without --url the last used; else the relay_port the runner reports in GET "
                       "/api/v1/system; when it cannot say, ws://<runner host>:<runner port + 1>/)."),
        QStringLiteral("url"));
    const QCommandLineOption token(
        QStringLiteral("token"), QStringLiteral("Auth token (default: $COMFY_RUNNER_TOKEN)."), QStringLiteral("token"));
    const QCommandLineOption noConnect(QStringLiteral("no-connect"), QStringLiteral("Start without connecting."));
    const QCommandLineOption dark(QStringLiteral("dark"), QStringLiteral("Use the dark palette."));
    const QCommandLineOption light(QStringLiteral("light"), QStringLiteral("Use the light palette."));
    const QCommandLineOption run(QStringLiteral("run-workflow"), QStringLiteral("Run this workflow once connected."),
                                 QStringLiteral("name"));
    const QCommandLineOption input(QStringLiteral("input"),
                                   QStringLiteral("An input of the --run-workflow job, KEY=VALUE (VALUE as JSON when "
                                                  "it parses, else text), e.g. 3.seed=42. Repeatable."),
                                   QStringLiteral("key=value"));
    const QCommandLineOption shot(
        QStringLiteral("screenshot"),
        QStringLiteral("Save a screenshot of the window to FILE when the --run-workflow job is done, then quit."),
        QStringLiteral("file"));
    const QCommandLineOption size(QStringLiteral("size"), QStringLiteral("Window size, e.g. 1400x900."),
                                  QStringLiteral("WxH"));
    const QCommandLineOption timeout(QStringLiteral("timeout"),
                                     QStringLiteral("Seconds before --screenshot gives up (default 120)."),
                                     QStringLiteral("s"), QStringLiteral("120"));
    const QCommandLineOption settings(QStringLiteral("settings"), QStringLiteral("Keep settings in this INI file."),
                                      QStringLiteral("file"));
    p.addOptions({help, version, url, relay, token, noConnect, dark, light, run, input, shot, size, timeout, settings});

    if (!p.parse(arguments)) {
        o.action = MonitorOptions::Action::Error;
        o.message = p.errorText();
        return o;
    }
    if (p.isSet(help)) {
        o.action = MonitorOptions::Action::Help;
        o.message = p.helpText();
        return o;
    }
    if (p.isSet(version)) {
        o.action = MonitorOptions::Action::Version;
        return o;
    }
    if (!p.positionalArguments().isEmpty()) {
        o.action = MonitorOptions::Action::Error;
        o.message = QStringLiteral("unexpected argument \"%1\"").arg(p.positionalArguments().first());
        return o;
    }
    o.runnerUrl = p.value(url);
    o.relayUrl = p.value(relay);
    o.token = p.isSet(token) ? p.value(token)
                             : QProcessEnvironment::systemEnvironment().value(QStringLiteral("COMFY_RUNNER_TOKEN"));
    o.connect = !p.isSet(noConnect);
    if (p.isSet(dark) && p.isSet(light)) {
        o.action = MonitorOptions::Action::Error;
        o.message = QStringLiteral("--dark and --light exclude each other");
        return o;
    }
    if (p.isSet(dark) || p.isSet(light))
        o.dark = p.isSet(dark);
    o.runWorkflow = p.value(run);
    for (const QString &pair : p.values(input)) {
        const qsizetype eq = pair.indexOf(QLatin1Char('='));
        if (eq <= 0) {
            o.action = MonitorOptions::Action::Error;
            o.message = QStringLiteral("--input wants KEY=VALUE, got \"%1\"").arg(pair);
            return o;
        }
        const QString text = pair.mid(eq + 1);
        const QJsonDocument doc = QJsonDocument::fromJson("[" + text.toUtf8() + "]");
        o.inputs.insert(pair.left(eq), doc.isArray() && doc.array().size() == 1 ? doc.array().at(0) : QJsonValue(text));
    }
    if (!o.inputs.isEmpty() && o.runWorkflow.isEmpty()) {
        o.action = MonitorOptions::Action::Error;
        o.message = QStringLiteral("--input needs --run-workflow");
        return o;
    }
    o.screenshot = p.value(shot);
    o.settingsFile = p.value(settings);
    if (!o.screenshot.isEmpty() && o.runWorkflow.isEmpty()) {
        o.action = MonitorOptions::Action::Error;
        o.message = QStringLiteral("--screenshot needs --run-workflow");
        return o;
    }
    if (p.isSet(size)) {
        const auto m = QRegularExpression(QStringLiteral("^(\\d{3,5})x(\\d{3,5})$")).match(p.value(size));
        if (!m.hasMatch()) {
            o.action = MonitorOptions::Action::Error;
            o.message = QStringLiteral("--size must look like 1400x900");
            return o;
        }
        o.size = QSize(m.captured(1).toInt(), m.captured(2).toInt());
    }
    bool ok = false;
    o.timeoutS = p.value(timeout).toInt(&ok);
    if (!ok || o.timeoutS < 1 || o.timeoutS > 3600) {
        o.action = MonitorOptions::Action::Error;
        o.message = QStringLiteral("--timeout must be 1..3600 seconds");
    }
    return o;
}

} // namespace cr::monitor
