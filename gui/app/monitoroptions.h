#pragma once
// The monitor's command line. Values not given fall back to the last connection (QSettings), then to
// the defaults (http://127.0.0.1:8189; relay: asked from the runner, else its port + 1); the token also
// comes from COMFY_RUNNER_TOKEN.

#include <QJsonObject>
#include <QSize>
#include <QString>
#include <QStringList>

#include <optional>

namespace cr::monitor {

struct MonitorOptions {
    QString runnerUrl;        // --url
    QString relayUrl;         // --relay
    QString token;            // --token, else $COMFY_RUNNER_TOKEN
    bool connect = true;      // --no-connect: start disconnected
    std::optional<bool> dark; // --dark / --light (else the saved choice)
    QString runWorkflow;      // --run-workflow NAME: run it once connected
    QJsonObject inputs;       // --input KEY=VALUE (repeatable): extra inputs of that run ("3.seed=42")
    QString screenshot;       // --screenshot FILE: save the window when that run is done, then quit
    QSize size;               // --size WxH
    int timeoutS = 120;       // --timeout: give up on --screenshot after this
    QString settingsFile;     // --settings FILE: an INI file instead of the user's settings

    enum class Action { Run, Help, Version, Error };
    Action action = Action::Run;
    QString message; // help text, or the error
};

MonitorOptions parseMonitorOptions(const QStringList &arguments);

} // namespace cr::monitor
