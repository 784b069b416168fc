#pragma once
// A complete API stack for tests: the fake ComfyUI on port 0 and the real Service (the composition root that
// main() builds) pointed at it, with a temporary workflows folder (sd15 + a broken file) and data folder, the
// REST API and relay on port 0, plus a small HTTP client.

#include "core/api/apiserver.h"
#include "core/comfy/comfyclient.h"
#include "core/jobs/jobmanager.h"
#include "core/relay/eventhub.h"
#include "core/service/service.h"
#include "core/workflows/activedraft.h"
#include "sim/fakecomfy.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QTemporaryDir>

#include <memory>

namespace cr::testing {

// One finished HTTP exchange.
struct HttpResult {
    int status = 0;
    QByteArray body;
    QList<QNetworkReply::RawHeaderPair> headers;
    QNetworkReply::NetworkError error = QNetworkReply::NoError;
    QJsonObject json() const { return QJsonDocument::fromJson(body).object(); }
    QString errorCode() const
    {
        return json().value(QStringLiteral("error")).toObject().value(QStringLiteral("code")).toString();
    }
    QByteArray header(const QByteArray &name) const;
};

class ApiTestEnv
{
public:
    // authToken: [auth] token of the service; configure: last changes to the Config before the server starts;
    // comfyBasePath: the fake ComfyUI serves under this prefix ("/comfy") and [comfy] url includes it;
    // setupFake: changes to the fake ComfyUI before it listens (a modern ComfyUI, step timing, ...).
    explicit ApiTestEnv(const QString &authToken = {}, const std::function<void(Config &)> &configure = {},
                        const QString &comfyBasePath = {}, const std::function<void(sim::FakeComfy &)> &setupFake = {});
    ~ApiTestEnv();

    bool ok() const { return m_ok; }
    QUrl url(const QString &pathAndQuery) const;
    sim::FakeComfy &fake() { return *m_fake; }
    JobManager &jobs() { return *m_service->jobs(); }
    ActiveDraft &draft() { return *m_service->draft(); }
    ApiServer &server() { return *m_service->api(); }
    EventHub &hub() { return *m_service->hub(); }
    quint16 port() const { return m_port; }
    quint16 relayPort() const { return m_service->relayPort(); }
    // Destroys the ApiServer (as the service does at shutdown) with whatever connections it has open; server()
    // and port() must not be used afterwards.
    void stopServer() { m_service->stopApi(); }
    QString workflowsDir() const { return m_dir.path(); }

    QNetworkReply *send(const QByteArray &verb, const QString &path, const QByteArray &body = {},
                        const QByteArray &contentType = "application/json", const QByteArray &token = {});
    // Sends and waits (signal spy, bounded) for the answer.
    HttpResult call(const QByteArray &verb, const QString &path, const QByteArray &body = {},
                    const QByteArray &contentType = "application/json", const QByteArray &token = {},
                    int timeoutMs = 10000);
    static HttpResult collect(QNetworkReply *reply);

private:
    QTemporaryDir m_dir;
    QTemporaryDir m_data;
    std::unique_ptr<sim::FakeComfy> m_fake;
    std::unique_ptr<Service> m_service;
    quint16 m_port = 0;
    QNetworkAccessManager m_nam;
    bool m_ok = false;
};

} // namespace cr::testing
