// SIGHUP reloads the configuration of the real comfy-runner (QProcess): the token (API and relay), the
// workflows folder and [node_mappings] change live; a broken file changes nothing and says why; keys that
// need a restart (ports) are named and the service keeps serving where it is bound. Every wait is on the
// log or on answers; ComfyUI is not needed (the service reconnects in the background).

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QWebSocket>
#include <QtTest>

#include <csignal>

namespace {

struct Settings {
    QString token = QStringLiteral("old-token");
    QString promptNode = QStringLiteral("6");
    QString extra; // appended verbatim (e.g. a broken line)
    QString httpHost = QStringLiteral("127.0.0.1");
    int httpPort = 0;
    int relayPort = 0;
};

// The configuration file the runner reads (and reads again on SIGHUP).
QByteArray configText(const Settings &s)
{
    return QStringLiteral("[comfy]\nurl = \"http://127.0.0.1:9\"\nworkflow = \"sd15_txt2img\"\n\n"
                          "[http-server]\nhost = \"%6\"\nport = %1\n\n[server]\nws_port = %2\n\n"
                          "[paths]\nworkflows = \"workflows\"\ndata = \"data\"\n\n"
                          "[auth]\ntoken = \"%3\"\n\n"
                          "[node_mappings.sd15_txt2img]\nprompt = \"%4\"\n%5")
        .arg(s.httpPort)
        .arg(s.relayPort)
        .arg(s.token, s.promptNode, s.extra, s.httpHost)
        .toUtf8();
}

struct Answer {
    int status = 0;
    QJsonObject json;
};

} // namespace

class TstReload : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void tokenChangesOnApiAndRelay();
    void workflowsAndMappingsFollowTheFile();
    void brokenFileChangesNothing();
    void portChangeWaitsForRestart();
    void networkListenerKeepsItsToken();
    void logRulesApplyOnReload();

private:
    void writeConfig(const Settings &s)
    {
        QFile f(m_dir.filePath(QStringLiteral("config.toml")));
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(configText(s));
    }
    void startRunner(const Settings &s = {})
    {
        writeConfig(s);
        m_runner.setProcessChannelMode(QProcess::SeparateChannels);
        connect(&m_runner, &QProcess::readyReadStandardError, this,
                [this] { m_log += m_runner.readAllStandardError(); });
        m_runner.start(QStringLiteral(CR_RUNNER_EXE),
                       {QStringLiteral("--config"), m_dir.filePath(QStringLiteral("config.toml"))});
        QVERIFY(m_runner.waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(m_log.contains("comfyrunner.service: ready"), 15000);
        const QRegularExpressionMatch m
            = QRegularExpression(QStringLiteral("REST API on http://[^:]+:(\\d+), event relay on ws://[^:]+:(\\d+)"))
                  .match(QString::fromUtf8(m_log));
        QVERIFY2(m.hasMatch(), m_log.constData());
        m_httpPort = quint16(m.captured(1).toUInt());
        m_relayPort = quint16(m.captured(2).toUInt());
    }
    // SIGHUP, then waits for the outcome line (reloaded or refused).
    void reload()
    {
        const int before = outcomes();
        ::kill(pid_t(m_runner.processId()), SIGHUP);
        QTRY_VERIFY_WITH_TIMEOUT(outcomes() > before, 10000);
    }
    int outcomes() const
    {
        return int(m_log.count("configuration reloaded from") + m_log.count("configuration was not reloaded"));
    }
    Answer get(const QString &path, const QString &token)
    {
        QNetworkRequest req(QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(m_httpPort).arg(path)));
        if (!token.isEmpty())
            req.setRawHeader("Authorization", "Bearer " + token.toUtf8());
        QNetworkReply *reply = m_nam.get(req);
        QSignalSpy done(reply, &QNetworkReply::finished);
        done.wait(10000);
        Answer a{reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(),
                 QJsonDocument::fromJson(reply->readAll()).object()};
        reply->deleteLater();
        return a;
    }
    QJsonObject configStatus(const QString &token)
    {
        return get(QStringLiteral("/api/v1/system"), token).json.value(QLatin1String("config")).toObject();
    }
    // Opens a relay client with ?token=; true when the relay accepted it (it stays open), false on a close.
    bool relayAccepts(QWebSocket &ws, const QString &token, quint16 *closeCode = nullptr)
    {
        QSignalSpy closed(&ws, &QWebSocket::disconnected);
        QSignalSpy welcome(&ws, &QWebSocket::textMessageReceived);
        QSignalSpy opened(&ws, &QWebSocket::connected);
        ws.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/?token=%2").arg(m_relayPort).arg(token)));
        if (!opened.wait(5000))
            return false;
        // An accepted client answers hello with relay_welcome; a refused one is closed (4001).
        ws.sendTextMessage(QStringLiteral("{\"type\": \"hello\", \"data\": {\"protocol\": 1}}"));
        if (!QTest::qWaitFor([&] { return welcome.count() > 0 || closed.count() > 0; }, 5000))
            return false;
        if (closeCode)
            *closeCode = quint16(ws.closeCode());
        return closed.isEmpty();
    }
    QString parameterNode(const QJsonObject &withParameters, const QString &name)
    {
        for (const QJsonValue &p : withParameters.value(QLatin1String("parameters")).toArray())
            if (p.toObject().value(QLatin1String("name")).toString() == name)
                return p.toObject().value(QLatin1String("node")).toString();
        return {};
    }

    QTemporaryDir m_dir;
    QProcess m_runner;
    QByteArray m_log;
    quint16 m_httpPort = 0;
    quint16 m_relayPort = 0;
    QNetworkAccessManager m_nam;
};

void TstReload::init()
{
    QVERIFY(m_dir.isValid());
    QVERIFY(QDir(m_dir.path()).mkpath(QStringLiteral("workflows")));
    QFile::remove(m_dir.filePath(QStringLiteral("workflows/sd15_txt2img.json")));
    QVERIFY(QFile::copy(QStringLiteral(CR_SOURCE_DIR "/workflows/sd15_txt2img.json"),
                        m_dir.filePath(QStringLiteral("workflows/sd15_txt2img.json"))));
    m_log.clear();
}

void TstReload::cleanup()
{
    disconnect(&m_runner, nullptr, this, nullptr);
    if (m_runner.state() != QProcess::NotRunning) {
        ::kill(pid_t(m_runner.processId()), SIGTERM);
        QVERIFY(m_runner.waitForFinished(10000));
        QCOMPARE(m_runner.exitCode(), 0); // a reload never leaves the service unable to stop cleanly
    }
    QFile::remove(m_dir.filePath(QStringLiteral("workflows/second.json")));
}

void TstReload::tokenChangesOnApiAndRelay()
{
    startRunner();
    QCOMPARE(get(QStringLiteral("/api/v1/workflows"), QStringLiteral("old-token")).status, 200);
    QWebSocket before;
    QVERIFY(relayAccepts(before, QStringLiteral("old-token")));
    QSignalSpy beforeClosed(&before, &QWebSocket::disconnected);
    // An event stream opened with the old token (EventSource style, ?token=).
    QNetworkReply *stream = m_nam.get(
        QNetworkRequest(QUrl(QStringLiteral("http://127.0.0.1:%1/api/v1/events?token=old-token").arg(m_httpPort))));
    QSignalSpy streamData(stream, &QNetworkReply::readyRead);
    QVERIFY(streamData.wait(5000)); // the head and the retry: hint
    QCOMPARE(stream->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), 200);
    QVERIFY(!stream->isFinished());

    Settings s;
    s.token = QStringLiteral("new-token");
    writeConfig(s);
    reload();
    QVERIFY2(m_log.contains("configuration reloaded from"), m_log.constData());
    // The API: the old token is refused, the new one accepted.
    QCOMPARE(get(QStringLiteral("/api/v1/workflows"), QStringLiteral("old-token")).status, 401);
    QCOMPARE(get(QStringLiteral("/api/v1/workflows"), QStringLiteral("new-token")).status, 200);
    // The relay: the client that came with the old token was closed with 4001, new ones need the new token.
    QTRY_COMPARE_WITH_TIMEOUT(beforeClosed.count(), 1, 5000);
    QCOMPARE(int(before.closeCode()), 4001);
    // The event stream of the old token was ended (the response completed).
    QTRY_VERIFY_WITH_TIMEOUT(stream->isFinished(), 5000);
    QCOMPARE(stream->error(), QNetworkReply::NoError);
    stream->deleteLater();
    QWebSocket oldToken, newToken;
    quint16 code = 0;
    QVERIFY(!relayAccepts(oldToken, QStringLiteral("old-token"), &code));
    QCOMPARE(int(code), 4001);
    QVERIFY(relayAccepts(newToken, QStringLiteral("new-token")));
    const QJsonObject status = configStatus(QStringLiteral("new-token"));
    QCOMPARE(status.value(QLatin1String("reloads")).toInt(), 1);
    QVERIFY(status.value(QLatin1String("last_reload_error")).isNull());
    QCOMPARE(status.value(QLatin1String("not_applied")).toArray().size(), 0);
}

void TstReload::workflowsAndMappingsFollowTheFile()
{
    startRunner();
    const QString token = QStringLiteral("old-token");
    QCOMPARE(parameterNode(get(QStringLiteral("/api/v1/workflows/sd15_txt2img"), token).json, QStringLiteral("prompt")),
             QStringLiteral("6"));
    QCOMPARE(parameterNode(get(QStringLiteral("/api/v1/draft"), token).json, QStringLiteral("prompt")),
             QStringLiteral("6"));

    QVERIFY(QFile::copy(m_dir.filePath(QStringLiteral("workflows/sd15_txt2img.json")),
                        m_dir.filePath(QStringLiteral("workflows/second.json"))));
    Settings s;
    s.promptNode = QStringLiteral("7");
    writeConfig(s);
    reload();
    QVERIFY2(m_log.contains("configuration reloaded from"), m_log.constData());
    QStringList names;
    for (const QJsonValue &w :
         get(QStringLiteral("/api/v1/workflows"), token).json.value(QLatin1String("workflows")).toArray())
        names << w.toObject().value(QLatin1String("name")).toString();
    QVERIFY2(names.contains(QStringLiteral("second")), qPrintable(names.join(QLatin1Char(','))));
    // The named parameter resolves to the new node, for the workflow and for the active draft.
    QCOMPARE(parameterNode(get(QStringLiteral("/api/v1/workflows/sd15_txt2img"), token).json, QStringLiteral("prompt")),
             QStringLiteral("7"));
    QCOMPARE(parameterNode(get(QStringLiteral("/api/v1/draft"), token).json, QStringLiteral("prompt")),
             QStringLiteral("7"));
}

void TstReload::brokenFileChangesNothing()
{
    startRunner();
    Settings s;
    s.token = QStringLiteral("new-token");
    s.extra = QStringLiteral("\n[jobs]\nkeep = \"many\"\n");
    writeConfig(s);
    reload();
    // The file:line error is logged and reported; the old configuration (its token) still holds.
    QVERIFY2(m_log.contains("configuration was not reloaded, nothing changed"), m_log.constData());
    const int line = int(configText(s).left(configText(s).indexOf("keep = \"many\"")).count('\n')) + 1;
    const QByteArray where = m_dir.filePath(QStringLiteral("config.toml")).toUtf8() + ':' + QByteArray::number(line)
        + ":8: error: [jobs] keep";
    QVERIFY2(m_log.contains(where), m_log.constData());
    QCOMPARE(get(QStringLiteral("/api/v1/workflows"), QStringLiteral("new-token")).status, 401);
    const QJsonObject status = configStatus(QStringLiteral("old-token"));
    QCOMPARE(status.value(QLatin1String("reloads")).toInt(), 0);
    QCOMPARE(status.value(QLatin1String("failed_reloads")).toInt(), 1);
    QVERIFY2(status.value(QLatin1String("last_reload_error")).toString().contains(QString::fromUtf8(where)),
             qPrintable(status.value(QLatin1String("last_reload_error")).toString()));

    // Fixed, the next SIGHUP applies it and clears the error.
    s.extra.clear();
    writeConfig(s);
    reload();
    QCOMPARE(get(QStringLiteral("/api/v1/workflows"), QStringLiteral("new-token")).status, 200);
    QVERIFY(configStatus(QStringLiteral("new-token")).value(QLatin1String("last_reload_error")).isNull());
}

void TstReload::portChangeWaitsForRestart()
{
    startRunner();
    Settings s;
    s.httpPort = m_httpPort == 65535 ? 65534 : m_httpPort + 1; // not bound: only named
    s.relayPort = m_relayPort == 65535 ? 65534 : m_relayPort + 1;
    s.token = QStringLiteral("new-token"); // applied in the same reload
    writeConfig(s);
    reload();
    QVERIFY2(m_log.contains("not applied until restart: http-server.port, server.ws_port"), m_log.constData());
    // Still serving on the old ports, with the new token.
    QCOMPARE(get(QStringLiteral("/api/v1/workflows"), QStringLiteral("new-token")).status, 200);
    QWebSocket ws;
    QVERIFY(relayAccepts(ws, QStringLiteral("new-token")));
    const QJsonObject status = configStatus(QStringLiteral("new-token"));
    QCOMPARE(status.value(QLatin1String("not_applied")).toArray(),
             QJsonArray({QStringLiteral("http-server.port"), QStringLiteral("server.ws_port")}));
    QCOMPARE(status.value(QLatin1String("reloads")).toInt(), 1);
}

void TstReload::networkListenerKeepsItsToken()
{
    // The API on every interface, with a token: a reload that drops the token is refused, since the
    // listener stays where it is bound.
    Settings s;
    s.httpHost = QStringLiteral("0.0.0.0");
    startRunner(s);
    s.token.clear();
    writeConfig(s);
    reload();
    QVERIFY2(m_log.contains("configuration was not reloaded, nothing changed"), m_log.constData());
    QVERIFY2(m_log.contains("without a token"), m_log.constData());
    QCOMPARE(get(QStringLiteral("/api/v1/workflows"), QString()).status, 401);
    QCOMPARE(get(QStringLiteral("/api/v1/workflows"), QStringLiteral("old-token")).status, 200);
}

void TstReload::logRulesApplyOnReload()
{
    startRunner();
    QCOMPARE(get(QStringLiteral("/api/v1/workflows"), QStringLiteral("old-token")).status, 200);
    QVERIFY(!m_log.contains("comfyrunner.api: GET /api/v1/workflows"));
    Settings s;
    s.extra = QStringLiteral("\n[log]\nrules = \"comfyrunner.api.debug=true\"\n");
    writeConfig(s);
    reload();
    QCOMPARE(get(QStringLiteral("/api/v1/workflows"), QStringLiteral("old-token")).status, 200);
    QTRY_VERIFY_WITH_TIMEOUT(m_log.contains("debug comfyrunner.api: GET /api/v1/workflows"), 5000);
}

QTEST_GUILESS_MAIN(TstReload)
#include "tst_reload.moc"
