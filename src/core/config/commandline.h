#pragma once
// comfy-runner's command line (QCommandLineParser): which config file, what to do, and overrides that win
// over the file. Parsing never exits the process; main() decides what to print and which code to return.

#include "core/config/config.h"

#include <QString>
#include <QStringList>

#include <optional>

namespace cr {

struct CommandLine {
    enum class Action { Run, CheckConfig, Help, Version, Error };

    Action action = Action::Run;
    QString error;      // Action::Error: what was wrong
    QString helpText;   // always filled, for --help and usage errors
    QString configFile; // --config FILE or the positional FILE; empty: ./config.toml if it exists

    std::optional<QString> httpHost, relayHost, comfyUrl, workflow, workflowsDir, dataDir, previewMethod;
    std::optional<quint16> httpPort, relayPort;

    static CommandLine parse(const QStringList &arguments);

    // Applies the overrides. Returns the problems (bad URL, unknown preview method); empty when all applied.
    QStringList applyTo(Config &config) const;
};

} // namespace cr
