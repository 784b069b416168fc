#pragma once
// Reads comfy_runner's TOML configuration (tomlplusplus), including the Python comfy_runner's files unchanged.
// Problems come back as values: warnings (unknown keys) and errors (bad TOML, wrong types, out-of-range
// values), each naming file, line and column. Nothing here exits or prints.

#include "core/config/config.h"

#include <QList>
#include <QString>

#include <optional>

namespace cr {

struct ConfigDiagnostic {
    enum class Severity { Warning, Error };
    Severity severity = Severity::Error;
    QString file;
    int line = 0;   // 1-based; 0 when the problem is not at a place in the file
    int column = 0; // 1-based; 0 when unknown
    QString message;

    // "config.toml:3:8: error: [comfy] port: expected an integer, got a string"
    QString toString() const;
};

struct ConfigResult {
    std::optional<Config> config; // set when there are no errors
    QList<ConfigDiagnostic> warnings;
    QList<ConfigDiagnostic> errors;
    bool ok() const { return errors.isEmpty(); }
};

class ConfigLoader final
{
public:
    // Loads a file. Relative paths in [paths] are resolved against the file's folder.
    static ConfigResult loadFile(const QString &path);
    // Loads TOML text; `sourceName` names it in diagnostics, `baseDir` resolves relative paths.
    static ConfigResult loadString(const QByteArray &toml, const QString &sourceName, const QString &baseDir);
    // The defaults, with paths resolved against `baseDir`.
    static Config defaults(const QString &baseDir);
};

} // namespace cr
