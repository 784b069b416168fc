#include "protocol/webhookdelivery.h"

#include "protocol/jobrecord.h"

namespace cr::protocol {

namespace {

QJsonValue text(const QString &s) { return s.isEmpty() ? QJsonValue() : QJsonValue(s); }
QJsonValue time(const QDateTime &t) { return t.isValid() ? QJsonValue(isoUtc(t)) : QJsonValue(); }

} // namespace

QJsonObject encodeWebhookDelivery(const WebhookDeliveryRecord &d)
{
    return {{QStringLiteral("id"), d.id},
            {QStringLiteral("job_id"), d.jobId},
            {QStringLiteral("event"), d.event},
            {QStringLiteral("url"), d.url},
            {QStringLiteral("state"), d.state},
            {QStringLiteral("in_flight"), d.inFlight},
            {QStringLiteral("attempts"), d.attempts},
            {QStringLiteral("max_attempts"), d.maxAttempts},
            {QStringLiteral("last_status"), d.lastStatus > 0 ? QJsonValue(d.lastStatus) : QJsonValue()},
            {QStringLiteral("last_error"), text(d.lastError)},
            {QStringLiteral("created_at"), time(d.createdAt)},
            {QStringLiteral("last_attempt_at"), time(d.lastAttemptAt)},
            {QStringLiteral("next_attempt_at"), time(d.nextAttemptAt)},
            {QStringLiteral("finished_at"), time(d.finishedAt)}};
}

} // namespace cr::protocol
