#pragma once
// The whole service for the webhook tests: the fake ComfyUI on port 0, a workflows and a data folder that
// outlive the Service (so a test can stop it and start another on the same job store, as a restart does),
// the REST API on port 0, a small HTTP client, and the verification a receiver does (Standard Webhooks),
// written here independently of the service's signer.

#include "core/config/config.h"
#include "core/jobs/jobmanager.h"
#include "core/service/service.h"
#include "core/webhooks/webhookdispatcher.h"
#include "sim/fakecomfy.h"
#include "tests/webhooks/webhookreceiver.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QTemporaryDir>

#include <functional>
#include <memory>

namespace cr::testing {

inline constexpr char kTestSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

struct Http {
    int status = 0;
    QByteArray body;
    QJsonObject json() const { return QJsonDocument::fromJson(body).object(); }
    QString errorCode() const;
};

class WebhookTestEnv
{
public:
    // configure: last changes to the Config (small retry delays, the receiver's URL...).
    explicit WebhookTestEnv(std::function<void(Config &)> configure = {});
    ~WebhookTestEnv();

    bool start(); // a new Service on the same folders; false when it did not start or reach ComfyUI
    void stop();  // destroys the Service (as the process ending does)
    Service &service() { return *m_service; }
    WebhookDispatcher &dispatcher() { return *m_service->webhooks(); }
    sim::FakeComfy &fake() { return m_fake; }
    Config &config() { return m_config; }

    Http call(const QByteArray &verb, const QString &path, const QJsonObject &body = {});
    // POST /api/v1/jobs {"workflow": "sd15", ...extra}; the job id, or "" (with the answer in *answer).
    QString submit(const QJsonObject &extra, Http *answer = nullptr);
    Http job(const QString &id) { return call("GET", QStringLiteral("/api/v1/jobs/") + id); }

    // A receiver's check: "" when the request carries webhook-id, webhook-timestamp (within 5 minutes) and a
    // webhook-signature with a v1 entry that is the HMAC-SHA256 of id.timestamp.body under `secret`.
    static QString verify(const ReceivedRequest &request, const QString &secret = QLatin1String(kTestSecret));

private:
    QTemporaryDir m_dir;
    sim::FakeComfy m_fake;
    Config m_config;
    std::unique_ptr<Service> m_service;
    QNetworkAccessManager m_nam;
};

} // namespace cr::testing
