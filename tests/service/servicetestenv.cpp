#include "servicetestenv.h"

#include "core/config/configloader.h"
#include "core/service/service.h"
#include "sim/fakecomfy.h"

#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QSignalSpy>
#include <QTest>

namespace cr::servicetest {

HttpResult request(QNetworkAccessManager &nam, const QByteArray &verb, const QUrl &url, const QJsonObject &body)
{
    QNetworkRequest req(url);
    req.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
    QNetworkReply *reply
        = nam.sendCustomRequest(req, verb, body.isEmpty() ? QByteArray() : QJsonDocument(body).toJson());
    QSignalSpy done(reply, &QNetworkReply::finished);
    done.wait(20000);
    HttpResult r{reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), {}, reply->readAll()};
    r.json = QJsonDocument::fromJson(r.body).object();
    reply->deleteLater();
    return r;
}

std::unique_ptr<sim::FakeComfy> startQuickFake()
{
    auto fake = std::make_unique<sim::FakeComfy>();
    if (!fake->listen())
        return nullptr;
    fake->setSteps(3);
    fake->setStepIntervalMs(5);
    return fake;
}

Config exampleConfig(const sim::FakeComfy &fake, const QString &dataDir)
{
    Config c = *ConfigLoader::loadFile(QStringLiteral(CR_SOURCE_DIR "/config_example.toml")).config;
    c.comfy.url = fake.httpUrl();
    c.comfy.pingIntervalMs = 200;
    c.http.port = 0;
    c.relay.port = 0;
    c.paths.dataDir = dataDir;
    return c;
}

QUrl apiUrl(const Service &service, const QString &path)
{
    return QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(service.httpPort()).arg(path));
}

bool waitReady(QNetworkAccessManager &nam, const Service &service)
{
    return QTest::qWaitFor(
        [&] { return request(nam, "GET", apiUrl(service, QStringLiteral("/api/v1/ready"))).status == 200; }, 10000);
}

} // namespace cr::servicetest
