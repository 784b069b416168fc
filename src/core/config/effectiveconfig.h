#pragma once
// What the service runs on, read the same way at start (main) and on every reload (SIGHUP): the file (or
// the built-in defaults), then the command-line overrides, then COMFY_RUNNER_TOKEN, then the rule that a
// network listener needs a token. And which differences between two configurations a running service
// cannot apply (README, "Reloading the configuration").

#include "core/config/commandline.h"
#include "core/config/config.h"

#include <QStringList>

#include <optional>

namespace cr {

struct EffectiveConfig {
    std::optional<Config> config; // set when there are no errors and no problems
    QStringList warnings;         // the file's warnings, "file:line:col: warning: ..."
    QStringList errors;           // the file's errors, "file:line:col: error: ..." (then nothing else is checked)
    QStringList problems;         // command line, environment or network rule, one sentence each
    bool ok() const { return config.has_value(); }
    // Every error and problem, one per line.
    QString failure() const { return (errors + problems).join(QLatin1Char('\n')); }
};

// Loads `file` (empty: the defaults, relative paths against the current folder) and applies the rest.
EffectiveConfig loadEffectiveConfig(const QString &file, const CommandLine &commandLine);

// A reload: the keys that only take effect after a restart ("http-server.port", "comfy.url", ...) are set
// back to their running values in `loaded`; returns the names of those that differed. Every other key can
// be applied live.
QStringList keepRestartOnlyValues(Config &loaded, const Config &running);

} // namespace cr
