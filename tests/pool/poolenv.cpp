#include "tests/pool/poolenv.h"

#include <QFile>
#include <QJsonArray>
#include <QSignalSpy>
#include <QtTest>

namespace cr::testing {

PoolEnv::PoolEnv(int backends, std::function<void(Config &)> configure, bool startNow)
    : m_configure(std::move(configure))
{
    QFile::copy(QStringLiteral(CR_SOURCE_DIR "/workflows/sd15_txt2img.json"),
                m_workflows.filePath(QStringLiteral("sd15.json")));
    for (int i = 0; i < backends; ++i) {
        auto fake = std::make_unique<sim::FakeComfy>();
        fake->setSteps(2);
        fake->setStepIntervalMs(5);
        if (!fake->listen())
            return;
        m_fakes.push_back(std::move(fake));
    }
    m_ok = !startNow || start();
}

PoolEnv::~PoolEnv() { stopService(); }

bool PoolEnv::start()
{
    Config config;
    config.comfy.requestTimeoutMs = 3000;
    config.comfy.pingIntervalMs = 200;
    config.comfy.pingTimeoutMs = 700; // also how long a backend may be gone before its prompts are taken back
    config.comfy.reconnectMaxMs = 200;
    config.comfy.workflow = QStringLiteral("sd15");
    config.comfy.clientId = QStringLiteral("pool-test");
    config.http.host = QStringLiteral("127.0.0.1");
    config.http.port = 0;
    config.http.waitTimeoutMs = 10000;
    config.relay.host = QStringLiteral("127.0.0.1");
    config.relay.port = 0;
    config.paths.workflowsDir = m_workflows.path();
    config.paths.dataDir = m_data.path();
    for (int i = 0; i < int(m_fakes.size()); ++i)
        config.backends.append({QStringLiteral("gpu%1").arg(i), m_fakes.at(size_t(i))->httpUrl(), {}, 1});
    if (m_configure)
        m_configure(config);
    m_service = std::make_unique<Service>(config);
    QString error;
    if (!m_service->start(&error)) {
        qWarning() << error;
        return m_ok = false;
    }
    BackendPool *pool = m_service->pool();
    return m_ok = QTest::qWaitFor(
               [this, pool] {
                   for (int i = 0; i < int(m_fakes.size()); ++i) {
                       const Backend *b = pool->backends().at(i);
                       if (m_fakes.at(size_t(i))->isListening() && (!b->isConnected() || !b->capabilitiesKnown()))
                           return false;
                   }
                   return true;
               },
               10000);
}

void PoolEnv::stopService()
{
    if (m_service)
        m_service->stop();
    m_service.reset();
}

HttpResult PoolEnv::call(const QByteArray &verb, const QString &path, const QByteArray &body)
{
    QNetworkRequest req(QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(m_service->httpPort()).arg(path)));
    if (verb == "POST")
        req.setHeader(QNetworkRequest::ContentTypeHeader, QByteArray("application/json"));
    QNetworkReply *reply = m_nam.sendCustomRequest(req, verb, body);
    if (!reply->isFinished()) {
        QSignalSpy done(reply, &QNetworkReply::finished);
        done.wait(10000);
    }
    HttpResult r = ApiTestEnv::collect(reply);
    reply->deleteLater();
    return r;
}

HttpResult PoolEnv::post(QJsonObject body)
{
    if (!body.contains(QLatin1String("workflow")) && !body.contains(QLatin1String("graph")))
        body.insert(QStringLiteral("workflow"), QStringLiteral("sd15"));
    return call("POST", QStringLiteral("/api/v1/jobs"), QJsonDocument(body).toJson(QJsonDocument::Compact));
}

QString PoolEnv::submit(const QJsonObject &body)
{
    const HttpResult r = post(body);
    if (r.status != 202 && r.status != 200) {
        qWarning().noquote() << "submission refused:" << r.status << r.body;
        return {};
    }
    return r.json().value(QStringLiteral("id")).toString();
}

QJsonObject PoolEnv::job(const QString &id) { return call("GET", QStringLiteral("/api/v1/jobs/") + id).json(); }

bool PoolEnv::waitState(const QString &id, const QString &state, int timeoutMs)
{
    return QTest::qWaitFor(
        [&] { return m_service->jobs()->find(id) && jobStateName(m_service->jobs()->find(id)->state) == state; },
        timeoutMs);
}

bool PoolEnv::waitRunning(int fake, const QString &promptId, int timeoutMs)
{
    return QTest::qWaitFor([&] { return m_fakes.at(size_t(fake))->runningPromptId() == promptId; }, timeoutMs);
}

int PoolEnv::totalPrompts() const
{
    int n = 0;
    for (const auto &f : m_fakes)
        n += f->promptCount();
    return n;
}

QString attemptBackend(const QJsonObject &job, int i)
{
    return job.value(QStringLiteral("attempts")).toArray().at(i).toObject().value(QStringLiteral("backend")).toString();
}

} // namespace cr::testing
