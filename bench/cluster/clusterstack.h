#pragma once
// The processes of bench-cluster: K comfy-sim children and K comfy-runner children, runner k in front of
// simulator k alone ([[backends]] "gpu"), all sharing one job store: an SQLite file (K = 1) or a PostgreSQL
// database created for this stack in the temporary cluster of scripts/pg-test-cluster.sh (CR_TEST_PG_URL).

#include "bench/common/childprocess.h"
#include "bench/common/servicestack.h"
#include "bench/common/simfleet.h"

#include <QList>
#include <QObject>
#include <QTemporaryDir>

#include <memory>
#include <vector>

namespace cr::bench {

struct ClusterSetup {
    int runners = 1;
    bool postgres = false; // else SQLite (one runner only)
    int maxInFlight = 2;   // [[backends]] max_in_flight
    int leaseS = 15;       // [cluster] lease
};

class ClusterStack final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ClusterStack)

public:
    explicit ClusterStack(const StackOptions &options, QObject *parent = nullptr);
    ~ClusterStack() override;

    // `count` simulators with these arguments (--port 0 and --name simK are added).
    bool startSims(int count, const QStringList &arguments, QString *error);
    // One runner per simulator; a fresh database (PostgreSQL) or file (SQLite) for them.
    bool startRunners(const ClusterSetup &setup, QString *error);
    void stopRunners();
    void stopSims();

    int simCount() const { return m_sims.size(); }
    int runnerCount() const { return int(m_httpPorts.size()); }
    quint16 simPort(int i) const { return m_sims.port(i); }
    quint16 httpPort(int i) const { return m_httpPorts.at(i); }
    ChildProcess *runner(int i) { return m_runners.at(size_t(i)).get(); }
    QString host() const { return QStringLiteral("127.0.0.1"); }
    QString logTails() const; // every runner's last log lines, for error messages
    QList<qint64> processIds() const;
    qint64 exitedCpuMs() const { return m_exitedCpuMs; }

    // The PostgreSQL of scripts/pg-test-cluster.sh is there (CR_TEST_PG_URL, CR_TEST_PG_PASSWORD).
    static bool postgresAvailable();

private:
    bool createDatabase(QString *url, QString *error); // a new database in the temporary cluster
    bool waitReady(int i, QString *error);

    StackOptions m_options;
    QTemporaryDir m_dir;
    SimFleet m_sims;
    std::vector<std::unique_ptr<ChildProcess>> m_runners;
    QList<quint16> m_httpPorts;
    int m_generation = 0;
    qint64 m_exitedCpuMs = 0;
};

} // namespace cr::bench
