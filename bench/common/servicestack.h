#pragma once
// The processes a benchmark measures: a simulated ComfyUI (tools/comfy-sim, or a benchmark's own helper that
// prints the same "listening on" line) and comfy-runner pointed at it, both on free ports, each with its log
// in a temporary folder. Ready when the service's /api/v1/ready says so (ComfyUI connected, workflows loaded).

#include "bench/common/childprocess.h"

#include <QObject>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>

namespace cr::bench {

// Which executables to start and with what.
// Waits for a started comfy-runner's "REST API on http://...:P, event relay on ws://...:Q" line and reads both
// ports (it was started on port 0); false with the log's tail in `error` when it does not come within 15 s.
bool readRunnerPorts(ChildProcess &runner, quint16 *httpPort, quint16 *relayPort, QString *error);

struct StackOptions {
    QString simProgram;
    QStringList simArguments; // --port 0 is added
    QString runnerProgram;
    QStringList runnerArguments;   // ports, --comfy-url, --data-dir are added
    QString runnerConfig;          // --runner-config: comfy-runner's configuration file (empty: none)
    QByteArray extraConfig;        // TOML appended to that configuration (a generated copy), e.g. "[metrics] ..."
    QStringList runnerEnvironment; // KEY=VALUE, e.g. allocator settings for an experiment
    QString workflowsDir;
    QString workflow = QStringLiteral("sd15_txt2img");
    bool keepLogs = false; // keep the temporary folder (its path is printed)
};

class ServiceStack final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ServiceStack)

public:
    explicit ServiceStack(QObject *parent = nullptr);
    ~ServiceStack() override;

    bool start(const StackOptions &options, QString *error);
    void stop();

    ChildProcess &sim() { return m_sim; }
    ChildProcess &runner() { return m_runner; }
    quint16 simPort() const { return m_simPort; }
    quint16 httpPort() const { return m_httpPort; }
    quint16 relayPort() const { return m_relayPort; }
    QString host() const { return QStringLiteral("127.0.0.1"); }
    QString logDir() const { return m_dir.path(); }

private:
    QTemporaryDir m_dir;
    ChildProcess m_sim;
    ChildProcess m_runner;
    quint16 m_simPort = 0;
    quint16 m_httpPort = 0;
    quint16 m_relayPort = 0;
};

} // namespace cr::bench
