#pragma once
// A server under test, run as a child process so that it has its own event loop and CPU time: standard
// output is read line by line (the "listening on" line, the helper's "done" lines), standard error (the
// service's log) goes to a file so that logging never waits on this process. Stopped with SIGTERM.

#include <QObject>
#include <QProcess>
#include <QRegularExpression>
#include <QStringList>

#include <optional>

namespace cr::bench {

class ChildProcess final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ChildProcess)

public:
    explicit ChildProcess(const QString &name, QObject *parent = nullptr);
    ~ChildProcess() override;

    // Starts `program`; its standard error is written to `logPath`.
    bool start(const QString &program, const QStringList &arguments, const QString &logPath, QString *error);
    // Waits for a line of standard output or of the log that matches; nullopt on timeout or exit.
    std::optional<QRegularExpressionMatch> waitForLine(const QRegularExpression &pattern, int timeoutMs);
    void setWorkingDirectory(const QString &dir) { m_process.setWorkingDirectory(dir); }
    void addEnvironment(const QStringList &keyValues); // KEY=VALUE entries added to the inherited environment
    void write(const QByteArray &bytes);               // to its standard input
    void stop(int graceMs = 5000);                     // SIGTERM, then SIGKILL after graceMs

    QString name() const { return m_name; }
    qint64 pid() const { return m_process.processId(); }
    bool isRunning() const { return m_process.state() == QProcess::Running; }
    QStringList outputLines() const { return m_lines; }
    QString logTail(int lines = 20) const; // the last lines of the log, for error messages

signals:
    void lineReceived(const QString &line);
    void exited(int exitCode);

private:
    void readOutput();

    QString m_name;
    QString m_logPath;
    QProcess m_process;
    QByteArray m_partial;
    QStringList m_lines;
};

} // namespace cr::bench
