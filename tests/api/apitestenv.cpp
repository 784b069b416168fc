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

ApiTestEnv::ApiTestEnv(const QString &authToken, const std::function<void(Config &)> &configure)
{
    m_fake = std::make_unique<FakeComfy>();
    m_fake->setSteps(2);
    m_fake->setStepIntervalMs(5);
    if (!m_fake->listen())
        return;
    QFile::copy(QStringLiteral(CR_SOURCE_DIR "/workflows/sd15_txt2img.json"), m_dir.filePath(QStringLiteral("sd15.json")));
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
    if (configure)
        configure(config);

    m_comfy = std::make_unique<ComfyClient>(config.comfy, QStringLiteral("api-test"));
    m_jobs = std::make_unique<JobManager>(m_comfy.get());
    m_store = std::make_unique<WorkflowStore>(m_dir.path());
    m_draft = std::make_unique<ActiveDraft>(m_store.get(), config.nodeMappings, config.comfy.workflow);
    m_hub = std::make_unique<EventHub>(EventHubLimits::from(config.relay));
    m_publisher = std::make_unique<JobEventPublisher>(m_comfy.get(), m_jobs.get(), m_hub.get());
    m_relay = std::make_unique<RelayServer>(m_hub.get(), config.relay, config.authToken);
    QString error;
    if (!m_relay->listen(&error)) {
        qWarning() << error;
        return;
    }
    ApiContext ctx;
    ctx.jobs = m_jobs.get();
    ctx.comfy = m_comfy.get();
    ctx.workflows = m_store.get();
    ctx.draft = m_draft.get();
    ctx.hub = m_hub.get();
    ctx.relay = m_relay.get();
    ctx.config = config;
    m_server = std::make_unique<ApiServer>(ctx);
    if (!m_server->listen(&error)) {
        qWarning() << error;
        return;
    }
    m_publisher->setHttpBase(url(QString()));
    m_comfy->start();
    QSignalSpy connected(m_comfy.get(), &ComfyClient::stateChanged);
    m_ok = m_comfy->state() == ConnectionState::Connected
        || QTest::qWaitFor([this] { return m_comfy->state() == ConnectionState::Connected; }, 5000);
}

ApiTestEnv::~ApiTestEnv()
{
    m_server.reset();
    m_relay.reset();
    m_publisher.reset();
    if (m_comfy)
        m_comfy->stop();
}

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
