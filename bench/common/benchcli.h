#pragma once
// The command-line options every benchmark shares (which programs to start, logs, JSON output) and the
// common ending: run, print the report, write the JSON. Exit codes: 0 completed, 1 something broke.

#include "bench/common/servicestack.h"

#include <QCommandLineParser>
#include <QString>
#include <QTextStream>

namespace cr::bench {

// Adds --json, --runner, --sim, --workflows-dir, --keep-logs, --runner-config and --runner-env.
void addStackOptions(QCommandLineParser &parser, const QString &defaultRunner, const QString &defaultSim,
                     const QString &simDescription, const QString &defaultWorkflowsDir);
// The StackOptions those options describe.
void readStackOptions(const QCommandLineParser &parser, StackOptions &stack);
// The integer option `name`; below `min` or not a number: a message on stderr naming the program, *ok = false.
int intOption(const QCommandLineParser &parser, const QString &name, int min, bool *ok);

template <typename Bench>
int runAndReport(Bench &bench, const QCommandLineParser &parser, const char *name)
{
    QString error;
    QTextStream err(stderr);
    if (!bench.run(&error)) {
        err << name << ": " << error << '\n';
        return 1;
    }
    bench.report().finish(bench.processIds());
    bench.report().print();
    const QString json = parser.value(QStringLiteral("json"));
    if (!json.isEmpty() && !bench.report().writeJson(json, &error)) {
        err << name << ": cannot write " << json << ": " << error << '\n';
        return 1;
    }
    return 0;
}

} // namespace cr::bench
