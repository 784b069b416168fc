#include "tests/support/runnerprocess.h"

#include <QFile>
#include <QJsonDocument>
#include <QNetworkReply>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTest>

#include <csignal>

namespace cr::test {

RunnerProcess::RunnerProcess(QString exe, QString configPath, QString dbPassword)
    : m_exe(std::move(exe)), m_config(std::move(configPath)), m_password(std::move(dbPassword)),
      m_process(std::make_unique<QProcess>())
{
    QObject::connect(m_process.get(), &QProcess::readyReadStandardError,
                     [this] { m_log += m_process->readAllStandardError(); });
}

RunnerProcess::~RunnerProcess()
{
    if (m_process->state() != QProcess::NotRunning)
        kill();
}

bool RunnerProcess::start(const QString &toml, bool waitReady, QString *why, int timeoutMs)
{
    QFile f(m_config);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(toml.toUtf8()) < 0) {
        if (why)
            *why = QStringLiteral("cannot write %1").arg(m_config);
        return false;
    }
    f.close();
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    if (!m_password.isEmpty())
        env.insert(QStringLiteral("COMFY_RUNNER_DB_PASSWORD"), m_password);
    m_process->setProcessEnvironment(env);
    m_log.clear();
    m_process->start(m_exe, {QStringLiteral("--config"), m_config});
    if (!m_process->waitForStarted()) {
        if (why)
            *why = m_process->errorString();
        return false;
    }
    if (!waitReady)
        return true;
    // In the event loop, not waitForReadyRead(): a fake ComfyUI of the same test process must answer the
    // runner meanwhile.
    QTest::qWaitFor(
        [this] { return m_log.contains("comfyrunner.service: ready") || m_process->state() != QProcess::Running; },
        timeoutMs);
    const QString log = QString::fromUtf8(m_log);
    const QRegularExpressionMatch m
        = QRegularExpression(QStringLiteral("REST API on http://[^ ]+:(\\d+), event relay on ws://[^ ]+:(\\d+)"))
              .match(log);
    if (!m_log.contains("comfyrunner.service: ready") || !m.hasMatch()) {
        if (why)
            *why = log;
        return false;
    }
    m_httpPort = quint16(m.captured(1).toUInt());
    m_relayPort = quint16(m.captured(2).toUInt());
    return true;
}

void RunnerProcess::kill()
{
    ::kill(pid_t(m_process->processId()), SIGKILL);
    m_process->waitForFinished(10000);
}

bool RunnerProcess::stop(int timeoutMs)
{
    m_process->terminate();
    return m_process->waitForFinished(timeoutMs);
}

RunnerReply RunnerProcess::call(const QByteArray &verb, const QString &path, const QJsonObject &body, int timeoutMs)
{
    QNetworkRequest req(QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(m_httpPort).arg(path)));
    req.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
    QNetworkReply *reply
        = m_nam.sendCustomRequest(req, verb, body.isEmpty() ? QByteArray() : QJsonDocument(body).toJson());
    QSignalSpy done(reply, &QNetworkReply::finished);
    if (!reply->isFinished())
        done.wait(timeoutMs);
    RunnerReply out;
    out.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    out.json = QJsonDocument::fromJson(reply->readAll()).object();
    reply->deleteLater();
    return out;
}

} // namespace cr::test
