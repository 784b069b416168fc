#include "bench/common/childprocess.h"

#include "bench/common/benchwait.h"

#include <QFile>

namespace cr::bench {

ChildProcess::ChildProcess(const QString &name, QObject *parent) : QObject(parent), m_name(name)
{
    connect(&m_process, &QProcess::readyReadStandardOutput, this, &ChildProcess::readOutput);
    connect(&m_process, &QProcess::finished, this, [this](int code) { emit exited(code); });
}

ChildProcess::~ChildProcess() { stop(2000); }

bool ChildProcess::start(const QString &program, const QStringList &arguments, const QString &logPath, QString *error)
{
    m_logPath = logPath;
    m_process.setProgram(program);
    m_process.setArguments(arguments);
    m_process.setStandardErrorFile(logPath);
    m_process.start();
    if (!m_process.waitForStarted(10'000)) {
        if (error)
            *error = QStringLiteral("cannot start %1 (%2): %3").arg(m_name, program, m_process.errorString());
        return false;
    }
    return true;
}

void ChildProcess::addEnvironment(const QStringList &keyValues)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const QString &kv : keyValues)
        env.insert(kv.section(u'=', 0, 0), kv.section(u'=', 1));
    m_process.setProcessEnvironment(env);
}

void ChildProcess::readOutput()
{
    m_partial += m_process.readAllStandardOutput();
    qsizetype nl;
    while ((nl = m_partial.indexOf('\n')) >= 0) {
        const QString line = QString::fromUtf8(m_partial.left(nl)).trimmed();
        m_partial.remove(0, nl + 1);
        m_lines.append(line);
        emit lineReceived(line);
    }
}

std::optional<QRegularExpressionMatch> ChildProcess::waitForLine(const QRegularExpression &pattern, int timeoutMs)
{
    std::optional<QRegularExpressionMatch> found;
    auto check = [&] {
        for (const QString &line : std::as_const(m_lines)) {
            if (const QRegularExpressionMatch m = pattern.match(line); m.hasMatch()) {
                found = m;
                return true;
            }
        }
        QFile log(m_logPath);
        if (log.open(QIODevice::ReadOnly)) {
            for (const QByteArray &raw : log.readAll().split('\n')) {
                if (const QRegularExpressionMatch m = pattern.match(QString::fromUtf8(raw)); m.hasMatch()) {
                    found = m;
                    return true;
                }
            }
        }
        return !isRunning();
    };
    waitUntil(check, timeoutMs);
    return found;
}

void ChildProcess::write(const QByteArray &bytes) { m_process.write(bytes); }

void ChildProcess::stop(int graceMs)
{
    if (m_process.state() == QProcess::NotRunning)
        return;
    m_process.terminate();
    if (!m_process.waitForFinished(graceMs)) {
        m_process.kill();
        m_process.waitForFinished(2000);
    }
}

QString ChildProcess::logTail(int lines) const
{
    QFile log(m_logPath);
    if (!log.open(QIODevice::ReadOnly))
        return {};
    QStringList all = QString::fromUtf8(log.readAll()).split(u'\n');
    return all.mid(std::max<qsizetype>(0, all.size() - lines)).join(u'\n');
}

} // namespace cr::bench
