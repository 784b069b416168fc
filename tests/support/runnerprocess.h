#pragma once
// A real comfy-runner process for a test (QProcess): written a configuration, started, waited for until it
// serves ("comfyrunner.service: ready"), its REST port read from its log, and called over HTTP. Used by the
// tests that kill runners (tst_standby) or run several against one database (tst_cluster).

#include <QByteArray>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QProcess>
#include <QString>

#include <memory>

namespace cr::test {

struct RunnerReply {
    int status = 0;
    QJsonObject json;
};

class RunnerProcess
{
public:
    // `exe`: the comfy-runner binary; `configPath`: where the TOML goes; `dbPassword` is given as
    // COMFY_RUNNER_DB_PASSWORD.
    RunnerProcess(QString exe, QString configPath, QString dbPassword = {});
    ~RunnerProcess();

    // Writes `toml`, starts the process; with `waitReady` waits (up to `timeoutMs`) until it serves. False
    // with the log in `why` when it did not.
    bool start(const QString &toml, bool waitReady = true, QString *why = nullptr, int timeoutMs = 20000);
    void kill();                      // SIGKILL, and waits for the end
    bool stop(int timeoutMs = 10000); // SIGTERM, and waits for the end
    QProcess *process() const { return m_process.get(); }
    QByteArray log() const { return m_log; }
    quint16 httpPort() const { return m_httpPort; }
    quint16 relayPort() const { return m_relayPort; }

    // A request to its REST API; waits up to `timeoutMs` (status 0 when no answer came).
    RunnerReply call(const QByteArray &verb, const QString &path, const QJsonObject &body = {}, int timeoutMs = 10000);

private:
    QString m_exe, m_config, m_password;
    std::unique_ptr<QProcess> m_process;
    QByteArray m_log;
    quint16 m_httpPort = 0;
    quint16 m_relayPort = 0;
    QNetworkAccessManager m_nam;
};

} // namespace cr::test
