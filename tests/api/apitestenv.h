#pragma once
// A complete API stack for tests: the fake ComfyUI on port 0, ComfyClient, JobManager, a temporary workflows
// folder (sd15 + a broken file), the active draft, the relay's EventHub fed as the service feeds it
// (JobEventPublisher), a RelayServer and an ApiServer on port 0, plus a small HTTP client.

#include "core/api/apiserver.h"
#include "core/comfy/comfyclient.h"
#include "core/jobs/jobmanager.h"
#include "core/relay/eventhub.h"
#include "core/relay/relayserver.h"
#include "core/service/jobeventpublisher.h"
#include "core/workflows/activedraft.h"
#include "core/workflows/workflowstore.h"
#include "tests/support/fakecomfy.h"

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
    QString errorCode() const { return json().value(QStringLiteral("error")).toObject().value(QStringLiteral("code")).toString(); }
    QByteArray header(const QByteArray &name) const;
};

class ApiTestEnv
{
public:
    // authToken: [auth] token of the service; configure: last changes to the Config before the server starts.
    explicit ApiTestEnv(const QString &authToken = {}, const std::function<void(Config &)> &configure = {});
    ~ApiTestEnv();

    bool ok() const { return m_ok; }
    QUrl url(const QString &pathAndQuery) const;
    FakeComfy &fake() { return *m_fake; }
    JobManager &jobs() { return *m_jobs; }
    ActiveDraft &draft() { return *m_draft; }
    ApiServer &server() { return *m_server; }
    EventHub &hub() { return *m_hub; }
    quint16 port() const { return m_server->port(); }
    // Destroys the ApiServer (as the service does at shutdown) with whatever connections it has open; server()
    // and port() must not be used afterwards.
    void stopServer() { m_server.reset(); }
    QString workflowsDir() const { return m_dir.path(); }

    QNetworkReply *send(const QByteArray &verb, const QString &path, const QByteArray &body = {},
                        const QByteArray &contentType = "application/json", const QByteArray &token = {});
    // Sends and waits (signal spy, bounded) for the answer.
    HttpResult call(const QByteArray &verb, const QString &path, const QByteArray &body = {},
                    const QByteArray &contentType = "application/json", const QByteArray &token = {}, int timeoutMs = 10000);
    static HttpResult collect(QNetworkReply *reply);

private:
    QTemporaryDir m_dir;
    std::unique_ptr<FakeComfy> m_fake;
    std::unique_ptr<ComfyClient> m_comfy;
    std::unique_ptr<JobManager> m_jobs;
    std::unique_ptr<WorkflowStore> m_store;
    std::unique_ptr<ActiveDraft> m_draft;
    std::unique_ptr<EventHub> m_hub;
    std::unique_ptr<JobEventPublisher> m_publisher;
    std::unique_ptr<RelayServer> m_relay;
    std::unique_ptr<ApiServer> m_server;
    QNetworkAccessManager m_nam;
    bool m_ok = false;
};

} // namespace cr::testing
