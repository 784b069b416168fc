#pragma once
// A webhook delivery as the REST API shows it (GET /api/v1/webhooks/deliveries, the "webhook" object of
// GET /api/v1/jobs/{id}; docs/webhooks.md): one event of one job for one URL, with its attempts so far.

#include <QDateTime>
#include <QJsonObject>
#include <QString>

namespace cr::protocol {

// pending (waiting for its next attempt, or in one) | delivered (a 2xx answer) | failed (attempts used up,
// 410 Gone, or a refused address).
struct WebhookDeliveryRecord {
    QString id; // also the webhook-id header
    QString jobId;
    QString event; // job_started | job_progress | job_finished | job_failed | job_cancelled
    QString url;
    QString state;
    int attempts = 0;    // attempts started so far
    int maxAttempts = 0; // it fails once this many failed (a redeliver adds [webhooks] max_attempts more)
    int lastStatus = 0;  // HTTP status of the last answer; 0 (null) when none came (refused, timeout, DNS)
    QString lastError;   // why the last attempt failed; empty (null) after a success
    QDateTime createdAt, lastAttemptAt, nextAttemptAt, finishedAt; // nextAttemptAt: only while pending
    bool inFlight = false; // an attempt is running now (then nextAttemptAt is null)
    bool operator==(const WebhookDeliveryRecord &) const = default;
};

// {id, job_id, event, url, state, in_flight, attempts, max_attempts, last_status, last_error, created_at,
//  last_attempt_at, next_attempt_at, finished_at}; empty values and invalid times are null.
QJsonObject encodeWebhookDelivery(const WebhookDeliveryRecord &delivery);

} // namespace cr::protocol
