// /api/v1/webhooks/deliveries: the durable webhook queue as the API shows it, and redelivery; the "webhook"
// field of POST /api/v1/jobs and the "webhook" object of GET /api/v1/jobs/{id} (docs/webhooks.md).

#include "core/api/apijson.h"
#include "core/api/controllers.h"
#include "core/api/routetable.h"

#include "core/config/webhookpolicy.h"
#include "core/webhooks/webhookdispatcher.h"

#include <QJsonArray>

namespace cr {

namespace {

Error notConfigured()
{
    return Error::make(ErrorCode::WebhooksNotConfigured, QStringLiteral("webhooks are not available in this service"));
}

Error webhookType(const QString &field, const QString &expected)
{
    return Error::make(ErrorCode::TypeMismatch, QStringLiteral("\"%1\" must be %2").arg(field, expected),
                       {{QStringLiteral("field"), field}});
}

const QStringList kStates{QStringLiteral("pending"), QStringLiteral("delivered"), QStringLiteral("failed")};

} // namespace

WebhooksRoutes::WebhooksRoutes(const ApiContext &ctx, QObject *parent) : QObject(parent), m_ctx(ctx) { }

void WebhooksRoutes::install(RouteHandlers &h)
{
    h.insert(RouteId::ListWebhookDeliveries, [this](const ApiRequest &r, ApiReply reply) { list(r, reply); });
    h.insert(RouteId::GetWebhookDelivery, [this](const ApiRequest &r, ApiReply reply) { get(r, reply); });
    h.insert(RouteId::RedeliverWebhook, [this](const ApiRequest &r, ApiReply reply) { redeliver(r, reply); });
}

Result<std::optional<JobWebhook>> WebhooksRoutes::parseJobWebhook(const ApiContext &ctx, const QJsonValue &v)
{
    if (v.isUndefined() || v.isNull())
        return std::optional<JobWebhook>();
    if (v.isBool() && !v.toBool())
        return std::optional<JobWebhook>(JobWebhook{});
    if (!v.isObject())
        return webhookType(QStringLiteral("webhook"), QStringLiteral("an object {\"url\", \"events\"?} or false"));
    const QJsonObject o = v.toObject();
    if (!o.value(QLatin1String("url")).isString() || o.value(QLatin1String("url")).toString().isEmpty())
        return Error::make(ErrorCode::MissingField, QStringLiteral("\"webhook.url\" must be a non-empty string"),
                           {{QStringLiteral("field"), QStringLiteral("webhook.url")}});
    JobWebhook w{o.value(QLatin1String("url")).toString(), webhookpolicy::defaultEvents()};
    const QJsonValue events = o.value(QLatin1String("events"));
    if (!events.isUndefined() && !events.isNull()) {
        if (!events.isArray())
            return webhookType(QStringLiteral("webhook.events"), QStringLiteral("an array of event names"));
        w.events.clear();
        for (const QJsonValue &e : events.toArray()) {
            if (!e.isString())
                return webhookType(QStringLiteral("webhook.events"), QStringLiteral("an array of event names"));
            w.events << e.toString();
        }
    }
    if (!ctx.webhooks)
        return notConfigured();
    if (const Status bad = ctx.webhooks->check(w))
        return *bad;
    return std::optional<JobWebhook>(w);
}

QJsonValue WebhooksRoutes::jobWebhookJson(const ApiContext &ctx, const Job &job)
{
    if (!ctx.webhooks)
        return QJsonValue();
    const std::optional<JobWebhook> w = ctx.webhooks->webhookOf(job);
    if (!w)
        return QJsonValue();
    QJsonArray deliveries;
    for (const WebhookDeliveryRecord &d : ctx.webhooks->deliveriesOf(job.id))
        deliveries.append(protocol::encodeWebhookDelivery(d));
    return QJsonObject{{QStringLiteral("url"), w->url},
                       {QStringLiteral("events"), QJsonArray::fromStringList(w->events)},
                       {QStringLiteral("deliveries"), deliveries}};
}

// GET /api/v1/webhooks/deliveries?state=pending|delivered|failed&job_id=&offset=&limit=
// -> {"deliveries": [...newest first], "total", "offset", "limit"} | 400 invalid_request (state, offset, limit)
// | 422 webhooks_not_configured.
void WebhooksRoutes::list(const ApiRequest &req, ApiReply reply)
{
    if (!m_ctx.webhooks)
        return reply.error(notConfigured());
    DeliveryFilter f;
    f.state = req.query.queryItemValue(QStringLiteral("state"), QUrl::FullyDecoded);
    if (!f.state.isEmpty() && !kStates.contains(f.state))
        return reply.error(Error::make(ErrorCode::InvalidRequest, QStringLiteral("unknown state \"%1\"").arg(f.state),
                                       {{QStringLiteral("allowed"), QJsonArray::fromStringList(kStates)}}));
    f.jobId = req.query.queryItemValue(QStringLiteral("job_id"), QUrl::FullyDecoded);
    if (Status s = queryInt(req, "offset", 0, 0, 1'000'000'000, &f.offset))
        return reply.error(*s);
    if (Status s = queryInt(req, "limit", 50, 1, 500, &f.limit))
        return reply.error(*s);
    const DeliveryPage page = m_ctx.webhooks->list(f);
    QJsonArray deliveries;
    for (const WebhookDeliveryRecord &d : page.deliveries)
        deliveries.append(protocol::encodeWebhookDelivery(d));
    reply.json(200, pageJson(QStringLiteral("deliveries"), deliveries, page.total, f.offset, f.limit));
}

// GET /api/v1/webhooks/deliveries/{id} -> the delivery | 404 delivery_not_found.
void WebhooksRoutes::get(const ApiRequest &req, ApiReply reply)
{
    if (!m_ctx.webhooks)
        return reply.error(notConfigured());
    const std::optional<WebhookDeliveryRecord> d = m_ctx.webhooks->find(req.arg(0));
    if (!d)
        return reply.error(Error::make(ErrorCode::DeliveryNotFound,
                                       QStringLiteral("no webhook delivery with id %1").arg(req.arg(0)),
                                       {{QStringLiteral("id"), req.arg(0)}}));
    reply.json(200, protocol::encodeWebhookDelivery(*d));
}

// POST /api/v1/webhooks/deliveries/{id}/redeliver -> 202 + the delivery (pending, due now, a new round of
// [webhooks] max_attempts; one in flight is left to finish) | 404 delivery_not_found.
void WebhooksRoutes::redeliver(const ApiRequest &req, ApiReply reply)
{
    if (!m_ctx.webhooks)
        return reply.error(notConfigured());
    const Result<WebhookDeliveryRecord> d = m_ctx.webhooks->redeliver(req.arg(0));
    if (!d)
        return reply.error(d.error());
    reply.json(202, protocol::encodeWebhookDelivery(*d));
}

} // namespace cr
