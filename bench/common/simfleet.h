#pragma once
// The comfy-sim children of a benchmark (bench-pool, bench-cluster): started with --port 0 and --name simK,
// each one's port read from its "listening on" line, stopped together with their CPU time added up.

#include "bench/common/childprocess.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <memory>
#include <vector>

namespace cr::bench {

class SimFleet
{
public:
    static QString name(int i) { return QStringLiteral("sim%1").arg(i); }

    // Starts `count` more simulators of `program` with `arguments`, their logs in `logDir`.
    bool start(int count, const QString &program, const QStringList &arguments, const QString &logDir, QString *error);
    qint64 stop(); // every simulator; returns the CPU ms they used

    int size() const { return int(m_sims.size()); }
    quint16 port(int i) const { return m_ports.at(i); }
    QList<qint64> pids() const;

private:
    std::vector<std::unique_ptr<ChildProcess>> m_sims;
    QList<quint16> m_ports;
};

} // namespace cr::bench
