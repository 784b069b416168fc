#pragma once
// A benchmark's output: tables printed to stdout, the same figures as one JSON document (--json FILE), and
// the targets, each with its measured value and whether it was met. Targets never change the exit code.

#include <QJsonArray>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

namespace cr::bench {

class Report
{
public:
    explicit Report(const QString &benchmark);

    QJsonObject &json() { return m_json; }
    void addTable(const QString &title, const QStringList &header, const QList<QStringList> &rows);
    // A target: `value` compared with `limit` (below: value <= limit; otherwise value >= limit).
    void addTarget(const QString &name, double value, double limit, bool below, const QString &unit);
    void addNote(const QString &note);

    // Call once after the last measurement, while the measured processes still run: records the load and how
    // much CPU time the rest of the machine used meanwhile (ours = this process and `pids`).
    void finish(const QList<qint64> &pids);
    // CPU time of measured processes that exited before finish() (their /proc entry is gone), counted as ours.
    void addExitedCpuMs(qint64 ms) { m_exitedCpuMs += ms; }
    void print() const;                                        // tables, targets and notes to stdout
    bool writeJson(const QString &path, QString *error) const; // the JSON document (with the targets)

private:
    struct Table {
        QString title;
        QStringList header;
        QList<QStringList> rows;
    };
    QList<Table> m_tables;
    QJsonArray m_targets;
    QStringList m_notes;
    QJsonObject m_json;
    double m_loadAtStart = -1;
    qint64 m_busyAtStart = -1;
    qint64 m_selfCpuAtStart = 0;
    qint64 m_exitedCpuMs = 0;
    qint64 m_startNs = 0;
};

// Facts about this machine for the report: cores, kernel, Qt version, build type, load average.
QJsonObject machineInfo();
// The 1-minute load average (/proc/loadavg), -1 when unreadable.
double loadAverage();

} // namespace cr::bench
