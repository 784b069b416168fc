#include "tests/webhooks/webhooktestenv.h"

#include "core/comfy/comfyclient.h"
#include "core/jobs/jobmanager.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QMessageAuthenticationCode>
#include <QNetworkReply>
#include <QSignalSpy>
#include <QtTest>

namespace cr::testing {

QString Http::errorCode() const
{
    return json().value(QStringLiteral("error")).toObject().value(QStringLiteral("code")).toString();
}

WebhookTestEnv::WebhookTestEnv(std::function<void(Config &)> configure)
{
    m_fake.setSteps(2);
    m_fake.setStepIntervalMs(5);
    m_fake.listen();
    QDir().mkpath(m_dir.filePath(QStringLiteral("workflows")));
    QFile::copy(QStringLiteral(CR_SOURCE_DIR "/workflows/sd15_txt2img.json"),
                m_dir.filePath(QStringLiteral("workflows/sd15.json")));
    m_config.comfy.url = m_fake.httpUrl();
    m_config.comfy.requestTimeoutMs = 5000;
    m_config.comfy.pingIntervalMs = 1000;
    m_config.comfy.reconnectMaxMs = 200;
    m_config.comfy.workflow = QStringLiteral("sd15");
    m_config.comfy.clientId = QStringLiteral("webhook-test");
    m_config.http.host = QStringLiteral("127.0.0.1");
    m_config.http.port = 0;
    m_config.relay.host = QStringLiteral("127.0.0.1");
    m_config.relay.port = 0;
    m_config.paths.workflowsDir = m_dir.filePath(QStringLiteral("workflows"));
    m_config.paths.dataDir = m_dir.filePath(QStringLiteral("data"));
    m_config.webhooks.secret = QLatin1String(kTestSecret);
    m_config.webhooks.retryDelayMs = 20;
    m_config.webhooks.retryMaxDelayMs = 100;
    m_config.webhooks.timeoutMs = 5000;
    if (configure)
        configure(m_config);
}

WebhookTestEnv::~WebhookTestEnv() = default;

bool WebhookTestEnv::start()
{
    m_service = std::make_unique<Service>(m_config);
    QString error;
    if (!m_service->start(&error)) {
        qWarning() << error;
        return false;
    }
    ComfyClient *comfy = m_service->comfy();
    return comfy->state() == ConnectionState::Connected
        || QTest::qWaitFor([comfy] { return comfy->state() == ConnectionState::Connected; }, 5000);
}

void WebhookTestEnv::stop() { m_service.reset(); }

Http WebhookTestEnv::call(const QByteArray &verb, const QString &path, const QJsonObject &body)
{
    QNetworkRequest req(QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(m_service->httpPort()).arg(path)));
    req.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
    QNetworkReply *reply
        = m_nam.sendCustomRequest(req, verb, body.isEmpty() ? QByteArray() : QJsonDocument(body).toJson());
    if (!reply->isFinished())
        QSignalSpy(reply, &QNetworkReply::finished).wait(10000);
    Http r{reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), reply->readAll()};
    reply->deleteLater();
    return r;
}

QString WebhookTestEnv::submit(const QJsonObject &extra, Http *answer)
{
    QJsonObject body = extra;
    body.insert(QStringLiteral("workflow"), QStringLiteral("sd15"));
    const Http r = call("POST", QStringLiteral("/api/v1/jobs"), body);
    if (answer)
        *answer = r;
    return r.status == 202 ? r.json().value(QStringLiteral("id")).toString() : QString();
}

QString WebhookTestEnv::verify(const ReceivedRequest &r, const QString &secret)
{
    const QByteArray id = r.headers.value("webhook-id");
    const QByteArray ts = r.headers.value("webhook-timestamp");
    const QByteArray signatures = r.headers.value("webhook-signature");
    if (id.isEmpty() || ts.isEmpty() || signatures.isEmpty())
        return QStringLiteral("a webhook-* header is missing");
    bool ok = false;
    const qint64 t = ts.toLongLong(&ok);
    if (!ok || qAbs(QDateTime::currentSecsSinceEpoch() - t) > 300)
        return QStringLiteral("webhook-timestamp %1 is not within 5 minutes").arg(QString::fromLatin1(ts));
    const QByteArray key = QByteArray::fromBase64(secret.mid(6).toLatin1());
    const QByteArray expected
        = QMessageAuthenticationCode::hash(id + '.' + ts + '.' + r.body, key, QCryptographicHash::Sha256).toBase64();
    for (const QByteArray &entry : signatures.split(' '))
        if (entry.startsWith("v1,") && entry.mid(3) == expected)
            return {};
    return QStringLiteral("no v1 signature matches: %1").arg(QString::fromLatin1(signatures));
}

} // namespace cr::testing
