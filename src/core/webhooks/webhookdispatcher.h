#pragma once
// Delivers job events to webhooks (docs/webhooks.md). A job's own "webhook" (or the [webhooks] url default)
// names the URL and the events; each event it wants becomes a delivery row in the job store's database
// (WebhookDeliveryStore) before anything is sent, with the job JSON as GET /api/v1/jobs/{id} shows it.
// Rows are taken as they fall due, at most [webhooks] concurrency at a time (the only deliveries held in
// memory), each sent by one WebhookAttempt; a failure is retried after retry_delay x 4^(n-1) (capped by
// retry_max_delay, +-20 % jitter) until max_attempts; 410 Gone and a refused address end it at once.
// Deliveries still pending when the service stops are sent after the next start.

#include "core/config/config.h"
#include "core/jobs/job.h"
#include "core/webhooks/deliverystore.h"
#include "core/webhooks/webhookattempt.h"
#include "protocol/error.h"

#include <QHash>
#include <QJsonObject>
#include <QObject>
#include <QTimer>

#include <functional>
#include <memory>

class QNetworkAccessManager;

namespace cr {

class JobManager;
class JobStore;
class MetricsRegistry;

// What one attempt did, for tests and logs.
struct WebhookAttemptReport {
    QString deliveryId;
    QString jobId;
    QString event;
    int attempt = 0;
    AttemptOutcome outcome;
    QString state; // the delivery's state after it: pending | delivered | failed
};

class WebhookDispatcher final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(WebhookDispatcher)

public:
    using JobJson = std::function<QJsonObject(const Job &)>;
    // `store` (not owned; null or closed: webhooks are refused, since they could not be durable) holds the
    // deliveries; `jobs` (not owned; may be null in tests) is followed for events; `jobJson` renders a job.
    WebhookDispatcher(JobStore *store, JobManager *jobs, JobJson jobJson, QObject *parent = nullptr);
    ~WebhookDispatcher() override;

    void setSettings(const WebhookSettings &settings); // at start and on every reload
    const WebhookSettings &settings() const { return m_settings; }
    // Starts sending (what was pending before a restart too). Until then deliveries are only stored.
    void start();
    void addMetrics(MetricsRegistry *registry);

    // At submission: the webhook as written may be used (URL form, literal address, events, a secret and a
    // store exist). Errors: invalid_field (details.field), webhook_url_forbidden, webhooks_not_configured.
    Status check(const JobWebhook &webhook) const;
    // Resolves the URL's host and answers webhook_url_forbidden when it points at a refused address;
    // a host that does not resolve now is let through (it is retried at delivery). Bounded by [webhooks]
    // timeout; `done` is dropped when `context` is destroyed first.
    void checkAddress(const QUrl &url, QObject *context, std::function<void(Status)> done);
    // The webhook a job's events go to: its own, else the [webhooks] url default; none when neither (or
    // "webhook": false).
    std::optional<JobWebhook> webhookOf(const Job &job) const;

    // Writes the delivery of `event` for `job` when its webhook wants it; returns its id or "".
    QString enqueue(const Job &job, const QString &event);
    QList<WebhookDeliveryRecord> deliveriesOf(const QString &jobId) const; // its newest 100, oldest first
    DeliveryPage list(const DeliveryFilter &filter) const;
    std::optional<WebhookDeliveryRecord> find(const QString &id) const;
    // Due now again with a new round of max_attempts (any state; one in flight is left to finish).
    // Errors: delivery_not_found, webhooks_not_configured.
    Result<WebhookDeliveryRecord> redeliver(const QString &id);

    // The wait after `attemptsMade` failed attempts: retry_delay x 4^(attemptsMade-1), capped by
    // retry_max_delay, times 0.8 + 0.4 x `unit` (the jitter; unit in [0, 1)).
    static qint64 retryDelayMs(const WebhookSettings &settings, int attemptsMade, double unit);

    int inFlight() const { return int(m_attempts.size()); }
    int peakInFlight() const { return m_peakInFlight; }
    bool isAvailable() const { return m_store != nullptr; }

signals:
    void attemptFinished(const cr::WebhookAttemptReport &report);

private:
    void pump(); // starts due attempts while there is room, then arms the timer
    void onAttemptFinished(WebhookAttempt *attempt, const AttemptOutcome &outcome);
    WebhookDeliveryRecord marked(WebhookDeliveryRecord record) const; // in_flight from m_attempts

    std::unique_ptr<WebhookDeliveryStore> m_store;
    JobManager *m_jobs;
    JobJson m_jobJson;
    WebhookSettings m_settings;
    QNetworkAccessManager *m_nam;
    QTimer m_wake;
    QHash<QString, WebhookAttempt *> m_attempts; // in flight, by delivery id (at most concurrency)
    bool m_started = false;
    bool m_pumping = false;
    int m_peakInFlight = 0;
    QHash<QString, quint64> m_outcomes; // attempts by outcome name (metrics)
    quint64 m_delivered = 0, m_failed = 0;
};

} // namespace cr

Q_DECLARE_METATYPE(cr::WebhookAttemptReport)
