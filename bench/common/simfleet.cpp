#include "bench/common/simfleet.h"

#include "bench/common/procstats.h"

#include <QDir>
#include <QRegularExpression>

namespace cr::bench {

bool SimFleet::start(int count, const QString &program, const QStringList &arguments, const QString &logDir,
                     QString *error)
{
    const QRegularExpression listening(QStringLiteral("listening on http://127\\.0\\.0\\.1:(\\d+)"));
    for (int i = 0; i < count; ++i) {
        const int index = size();
        auto sim = std::make_unique<ChildProcess>(name(index));
        const QStringList args = arguments
            + QStringList{QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--name"), name(index)};
        if (!sim->start(program, args, QDir(logDir).filePath(name(index) + QStringLiteral(".log")), error))
            return false;
        const auto line = sim->waitForLine(listening, 15'000);
        if (!line) {
            *error = QStringLiteral("%1 did not report its port:\n%2").arg(name(index), sim->logTail());
            return false;
        }
        m_ports.append(quint16(line->captured(1).toUInt()));
        m_sims.push_back(std::move(sim));
    }
    return true;
}

qint64 SimFleet::stop()
{
    qint64 cpuMs = 0;
    for (auto &sim : m_sims) {
        cpuMs += qMax<qint64>(0, procstats::cpuMs(sim->pid()));
        sim->stop();
    }
    m_sims.clear();
    m_ports.clear();
    return cpuMs;
}

QList<qint64> SimFleet::pids() const
{
    QList<qint64> ids;
    for (const auto &sim : m_sims)
        ids.append(sim->pid());
    return ids;
}

} // namespace cr::bench
