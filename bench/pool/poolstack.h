#pragma once
// The processes of bench-pool: N comfy-sim children (each --name simK, on a free port) and one comfy-runner in
// front of them, configured by a TOML file written into the stack's temporary folder: one [[backends]] table per
// simulator (issue #13) or, for a runner without the pool, [comfy] url (a pool of one).

#include "bench/common/childprocess.h"
#include "bench/common/servicestack.h"
#include "bench/common/simfleet.h"

#include <QList>
#include <QObject>
#include <QStringList>
#include <QTemporaryDir>

#include <memory>
#include <vector>

namespace cr::bench {

struct RunnerSetup {
    enum class Config { Backends, Comfy }; // [[backends]] per simulator, or [comfy] url (first simulator only)
    Config config = Config::Backends;
    QString routing;     // [jobs] routing ("affinity", "least_loaded"); empty: the runner's default
    int maxInFlight = 2; // [[backends]] max_in_flight
};

class PoolStack final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(PoolStack)

public:
    explicit PoolStack(const StackOptions &options, QObject *parent = nullptr);
    ~PoolStack() override;

    // Starts `count` more simulators with these arguments (--port 0 and --name simK are added).
    bool startSims(int count, const QStringList &arguments, QString *error);
    void stopSims();
    // Starts comfy-runner in front of the first `backends` simulators. *poolUnsupported is set (and false
    // returned) when the runner was given [[backends]] but does not know them (GET /api/v1/backends is 404).
    bool startRunner(int backends, const RunnerSetup &setup, QString *error, bool *poolUnsupported = nullptr);
    void stopRunner();

    int simCount() const { return m_sims.size(); }
    quint16 simPort(int i) const { return m_sims.port(i); }
    QString simName(int i) const { return SimFleet::name(i); }
    quint16 httpPort() const { return m_httpPort; }
    quint16 relayPort() const { return m_relayPort; }
    QString host() const { return QStringLiteral("127.0.0.1"); }
    ChildProcess *runner() { return m_runner.get(); }
    QList<qint64> processIds() const;
    QString logDir() const { return m_dir.path(); }
    QString runnerLogTail() const { return m_runner ? m_runner->logTail() : QString(); }
    qint64 exitedCpuMs() const { return m_exitedCpuMs; } // CPU time of the children stopped so far

private:
    bool writeConfig(int backends, const RunnerSetup &setup, QString *path, QString *error);
    bool waitReady(int backends, const RunnerSetup &setup, QString *error);

    StackOptions m_options;
    QTemporaryDir m_dir;
    SimFleet m_sims;
    std::unique_ptr<ChildProcess> m_runner;
    qint64 m_exitedCpuMs = 0;
    int m_runnerGeneration = 0; // runner logs and data folders are numbered
    quint16 m_httpPort = 0;
    quint16 m_relayPort = 0;
};

} // namespace cr::bench
