#include "bench/common/report.h"

#include "bench/common/benchwait.h"
#include "bench/common/procstats.h"
#include "bench/common/samples.h"

#include <QCoreApplication>
#include <QFile>
#include <QJsonDocument>
#include <QSysInfo>
#include <QTextStream>
#include <QThread>

#include <algorithm>
#include <cmath>

namespace cr::bench {

Report::Report(const QString &benchmark)
{
    m_json.insert(QStringLiteral("benchmark"), benchmark);
    m_json.insert(QStringLiteral("machine"), machineInfo());
    m_loadAtStart = loadAverage();
    m_busyAtStart = procstats::machineBusyMs();
    m_selfCpuAtStart = procstats::cpuMs(QCoreApplication::applicationPid());
    m_startNs = monotonicNs();
}

void Report::addTable(const QString &title, const QStringList &header, const QList<QStringList> &rows)
{
    m_tables.append(Table{title, header, rows});
}

void Report::addTarget(const QString &name, double value, double limit, bool below, const QString &unit)
{
    const bool met = below ? value <= limit : value >= limit;
    m_targets.append(QJsonObject{{QStringLiteral("name"), name},
                                 {QStringLiteral("value"), std::round(value * 1000) / 1000},
                                 {QStringLiteral("limit"), limit},
                                 {QStringLiteral("comparison"), below ? QStringLiteral("<=") : QStringLiteral(">=")},
                                 {QStringLiteral("unit"), unit},
                                 {QStringLiteral("met"), met}});
}

void Report::addNote(const QString &note) { m_notes.append(note); }

static void printTable(QTextStream &out, const QString &title, const QStringList &header,
                       const QList<QStringList> &rows)
{
    QList<qsizetype> widths;
    for (const QString &h : header)
        widths.append(h.size());
    for (const QStringList &row : rows)
        for (qsizetype i = 0; i < row.size() && i < widths.size(); ++i)
            widths[i] = std::max(widths[i], row.at(i).size());
    auto line = [&](const QStringList &cells) {
        QString s;
        for (qsizetype i = 0; i < widths.size(); ++i) {
            const QString cell = cells.value(i);
            s += i == 0 ? cell.leftJustified(widths[i]) : cell.rightJustified(widths[i]);
            s += i + 1 < widths.size() ? QStringLiteral("  ") : QString();
        }
        out << s << '\n';
    };
    out << '\n' << title << '\n';
    line(header);
    QStringList rule;
    for (qsizetype w : widths)
        rule.append(QString(w, u'-'));
    line(rule);
    for (const QStringList &row : rows)
        line(row);
}

void Report::finish(const QList<qint64> &pids)
{
    QJsonObject machine = m_json.value(QStringLiteral("machine")).toObject();
    machine.insert(QStringLiteral("load_average_start"), m_loadAtStart);
    machine.insert(QStringLiteral("load_average_end"), loadAverage());
    // The children started after the constructor ran, so all their CPU time falls in the run.
    qint64 ours = procstats::cpuMs(QCoreApplication::applicationPid()) - m_selfCpuAtStart + m_exitedCpuMs;
    for (qint64 pid : pids)
        ours += std::max<qint64>(0, procstats::cpuMs(pid));
    const qint64 busy = procstats::machineBusyMs() - m_busyAtStart;
    const double wallMs = double(monotonicNs() - m_startNs) / 1e6;
    const double capacityMs = wallMs * QThread::idealThreadCount();
    const qint64 other = std::max<qint64>(0, busy - ours);
    machine.insert(QStringLiteral("run_wall_ms"), std::round(wallMs));
    machine.insert(QStringLiteral("run_cpu_ms_ours"), double(ours));
    machine.insert(QStringLiteral("run_cpu_ms_other"), double(other));
    m_json.insert(QStringLiteral("machine"), machine);
    if (m_busyAtStart >= 0 && capacityMs > 0 && double(other) > 0.05 * capacityMs)
        addNote(QStringLiteral("other work used %1% of the machine's CPU during the run (%2 ms of %3): "
                               "the figures are pessimistic")
                    .arg(fmt(100.0 * double(other) / capacityMs, 1))
                    .arg(other)
                    .arg(qint64(capacityMs)));
}

void Report::print() const
{
    QTextStream out(stdout);
    for (const Table &t : m_tables)
        printTable(out, t.title, t.header, t.rows);
    if (!m_targets.isEmpty()) {
        QList<QStringList> rows;
        for (const QJsonValue &v : m_targets) {
            const QJsonObject t = v.toObject();
            rows.append({t.value(QStringLiteral("name")).toString(),
                         fmt(t.value(QStringLiteral("value")).toDouble(), 3) + u' '
                             + t.value(QStringLiteral("unit")).toString(),
                         t.value(QStringLiteral("comparison")).toString() + u' '
                             + fmt(t.value(QStringLiteral("limit")).toDouble(), 3),
                         t.value(QStringLiteral("met")).toBool() ? QStringLiteral("met") : QStringLiteral("MISSED")});
        }
        printTable(out, QStringLiteral("Targets"),
                   {QStringLiteral("target"), QStringLiteral("measured"), QStringLiteral("limit"), QString()}, rows);
    }
    for (const QString &n : m_notes)
        out << "note: " << n << '\n';
    out.flush();
}

bool Report::writeJson(const QString &path, QString *error) const
{
    QJsonObject doc = m_json;
    doc.insert(QStringLiteral("targets"), m_targets);
    doc.insert(QStringLiteral("notes"), QJsonArray::fromStringList(m_notes));
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
        if (error)
            *error = f.errorString();
        return false;
    }
    f.write(QJsonDocument(doc).toJson(QJsonDocument::Indented));
    return true;
}

double loadAverage()
{
    QFile f(QStringLiteral("/proc/loadavg"));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    bool ok = false;
    const double v = f.readAll().split(' ').value(0).toDouble(&ok);
    return ok ? v : -1;
}

QJsonObject machineInfo()
{
    return QJsonObject{
        {QStringLiteral("cores"), QThread::idealThreadCount()},
        {QStringLiteral("kernel"), QSysInfo::kernelVersion()},
        {QStringLiteral("os"), QSysInfo::prettyProductName()},
        {QStringLiteral("qt"), QString::fromLatin1(qVersion())},
#ifdef NDEBUG
        {QStringLiteral("bench_build"), QStringLiteral("optimized (NDEBUG)")},
#else
        {QStringLiteral("bench_build"), QStringLiteral("debug")},
#endif
    };
}

} // namespace cr::bench
