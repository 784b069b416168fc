#include "bench/common/benchcli.h"

#include <QCoreApplication>
#include <QFileInfo>

namespace cr::bench {

void addStackOptions(QCommandLineParser &p, const QString &defaultRunner, const QString &defaultSim,
                     const QString &simDescription, const QString &defaultWorkflowsDir)
{
    p.addOptions({
        {QStringLiteral("json"), QStringLiteral("Also write the results as JSON to this file."),
         QStringLiteral("file")},
        {QStringLiteral("runner"), QStringLiteral("comfy-runner executable."), QStringLiteral("path"), defaultRunner},
        {QStringLiteral("sim"), simDescription, QStringLiteral("path"), defaultSim},
        {QStringLiteral("workflows-dir"), QStringLiteral("Workflows folder (default: the repository's)."),
         QStringLiteral("dir"), defaultWorkflowsDir},
        {QStringLiteral("keep-logs"), QStringLiteral("Keep the processes' logs (the folder is printed).")},
        {QStringLiteral("runner-config"),
         QStringLiteral("A configuration file for comfy-runner (ports, ComfyUI URL and folders are "
                        "still set by the benchmark)."),
         QStringLiteral("file")},
        {QStringLiteral("runner-env"),
         QStringLiteral("KEY=VALUE added to comfy-runner's environment (repeatable; for experiments)."),
         QStringLiteral("kv")},
    });
}

void readStackOptions(const QCommandLineParser &p, StackOptions &stack)
{
    stack.runnerProgram = p.value(QStringLiteral("runner"));
    stack.simProgram = p.value(QStringLiteral("sim"));
    stack.workflowsDir = p.value(QStringLiteral("workflows-dir"));
    stack.keepLogs = p.isSet(QStringLiteral("keep-logs"));
    stack.runnerEnvironment = p.values(QStringLiteral("runner-env"));
    if (p.isSet(QStringLiteral("runner-config")))
        stack.runnerConfig = QFileInfo(p.value(QStringLiteral("runner-config"))).absoluteFilePath();
}

int intOption(const QCommandLineParser &parser, const QString &name, int min, bool *ok)
{
    bool valid = false;
    const int v = parser.value(name).toInt(&valid);
    if (!valid || v < min) {
        QTextStream(stderr) << QCoreApplication::applicationName() << ": --" << name << " must be an integer >= " << min
                            << '\n';
        *ok = false;
    }
    return v;
}

} // namespace cr::bench
