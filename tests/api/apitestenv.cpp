#include "tests/api/apitestenv.h"

#include <QFile>
#include <QSignalSpy>
#include <QtTest>

namespace cr::testing {

QByteArray HttpResult::header(const QByteArray &name) const
{
    for (const auto &h : headers)
        if (h.first.compare(name, Qt::CaseInsensitive) == 0)
            return h.second;
    return {};
}

ApiTestEnv::ApiTestEnv(const QString &authToken, const std::function<void(Config &)> &configure,
                       const QString &comfyBasePath, const std::function<void(sim::FakeComfy &)> &setupFake)
{
    m_fake = std::make_unique<sim::FakeComfy>();
    m_fake->setBasePath(comfyBasePath);
    m_fake->setSteps(2);
    m_fake->setStepIntervalMs(5);
    if (setupFake)
        setupFake(*m_fake);
    if (!m_fake->listen())
        return;
    QFile::copy(QStringLiteral(CR_SOURCE_DIR "/workflows/sd15_txt2img.json"),
                m_dir.filePath(QStringLiteral("sd15.json")));
    QFile broken(m_dir.filePath(QStringLiteral("broken.json")));
    if (broken.open(QIODevice::WriteOnly))
        broken.write("{\"3\": {\"class_type\": ");
    broken.close();

    Config config;
    config.comfy.url = m_fake->httpUrl();
    config.comfy.requestTimeoutMs = 5000;
    config.comfy.pingIntervalMs = 1000;
    config.comfy.reconnectMaxMs = 200;
    config.comfy.workflow = QStringLiteral("sd15");
    config.http.host = QStringLiteral("127.0.0.1");
    config.http.port = 0;
    config.http.waitTimeoutMs = 10000;
    config.paths.workflowsDir = m_dir.path();
    config.nodeMappings.global.insert(QStringLiteral("prompt"), QStringLiteral("6"));
    config.authToken = authToken;
    config.relay.host = QStringLiteral("127.0.0.1");
    config.relay.port = 0;
    config.comfy.clientId = QStringLiteral("api-test");
    config.paths.dataDir = m_data.path();
    if (configure)
        configure(config);

    m_service = std::make_unique<Service>(config);
    QString error;
    if (!m_service->start(&error)) {
        qWarning() << error;
        return;
    }
    m_port = m_service->httpPort();
    ComfyClient *comfy = m_service->comfy();
    m_ok = comfy->state() == ConnectionState::Connected
        || QTest::qWaitFor([comfy] { return comfy->state() == ConnectionState::Connected; }, 5000);
}

ApiTestEnv::~ApiTestEnv() = default;

QUrl ApiTestEnv::url(const QString &pathAndQuery) const
{
    return QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(port()).arg(pathAndQuery));
}

QNetworkReply *ApiTestEnv::send(const QByteArray &verb, const QString &path, const QByteArray &body,
                                const QByteArray &contentType, const QByteArray &token)
{
    QNetworkRequest req(url(path));
    if (!body.isEmpty() || verb == "POST" || verb == "PATCH" || verb == "PUT")
        req.setHeader(QNetworkRequest::ContentTypeHeader, contentType);
    if (!token.isEmpty())
        req.setRawHeader("Authorization", "Bearer " + token);
    return m_nam.sendCustomRequest(req, verb, body);
}

HttpResult ApiTestEnv::collect(QNetworkReply *reply)
{
    HttpResult r;
    r.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    r.body = reply->readAll();
    r.headers = reply->rawHeaderPairs();
    r.error = reply->error();
    return r;
}

HttpResult ApiTestEnv::call(const QByteArray &verb, const QString &path, const QByteArray &body,
                            const QByteArray &contentType, const QByteArray &token, int timeoutMs)
{
    QNetworkReply *reply = send(verb, path, body, contentType, token);
    if (!reply->isFinished()) {
        QSignalSpy done(reply, &QNetworkReply::finished);
        done.wait(timeoutMs);
    }
    HttpResult r = collect(reply);
    reply->deleteLater();
    return r;
}

} // namespace cr::testing
