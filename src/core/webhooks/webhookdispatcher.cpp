#include "core/webhooks/webhookdispatcher.h"

#include "core/config/webhookpolicy.h"
#include "core/jobs/jobmanager.h"
#include "core/jobs/jobstore.h"
#include "core/metrics/metricsregistry.h"
#include "core/webhooks/webhookslog.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QPointer>
#include <QRandomGenerator>

#include <cmath>

Q_LOGGING_CATEGORY(lcWebhooks, "comfyrunner.webhooks")

namespace cr {

namespace {

constexpr int kMaxWakeMs = 3'600'000; // re-read the schedule at least hourly (clock changes)
constexpr qint64 kLeaseSlackMs = 1000;

qint64 now() { return QDateTime::currentMSecsSinceEpoch(); }

QString endedEventName(const Job &job)
{
    switch (job.state) {
    case JobState::Succeeded:
        return QStringLiteral("job_finished");
    case JobState::Cancelled:
        return QStringLiteral("job_cancelled");
    default:
        return QStringLiteral("job_failed");
    }
}

Error invalidWebhook(const QString &field, const QString &why)
{
    return Error::make(ErrorCode::InvalidField, QStringLiteral("\"%1\": %2").arg(field, why),
                       {{QStringLiteral("field"), field}, {QStringLiteral("reason"), why}});
}

} // namespace

WebhookDispatcher::WebhookDispatcher(JobStore *store, JobManager *jobs, JobJson jobJson, QObject *parent)
    : QObject(parent), m_jobs(jobs), m_jobJson(std::move(jobJson)), m_nam(new QNetworkAccessManager(this))
{
    qRegisterMetaType<cr::WebhookAttemptReport>();
    qRegisterMetaType<cr::AttemptOutcome>();
    if (store && store->isOpen())
        m_store = std::make_unique<WebhookDeliveryStore>(store->connectionName());
    m_nam->setRedirectPolicy(QNetworkRequest::ManualRedirectPolicy);
    m_wake.setSingleShot(true);
    connect(&m_wake, &QTimer::timeout, this, &WebhookDispatcher::pump);
    if (!m_jobs)
        return;
    connect(m_jobs, &JobManager::jobStarted, this,
            [this](const Job &job) { enqueue(job, QStringLiteral("job_started")); });
    connect(m_jobs, &JobManager::jobProgress, this,
            [this](const Job &job) { enqueue(job, QStringLiteral("job_progress")); });
    connect(m_jobs, &JobManager::jobFinished, this, [this](const Job &job) { enqueue(job, endedEventName(job)); });
    connect(m_jobs, &JobManager::jobsPruned, this, [this](const QStringList &ids) {
        if (m_store)
            m_store->removeFinishedOf(ids);
    });
}

WebhookDispatcher::~WebhookDispatcher()
{
    // Attempts in flight are dropped unanswered; their rows are due again once their lease runs out.
    qDeleteAll(std::exchange(m_attempts, {}));
}

void WebhookDispatcher::setSettings(const WebhookSettings &settings)
{
    m_settings = settings;
    if (m_settings.events.isEmpty())
        m_settings.events = webhookpolicy::defaultEvents();
    if (m_started)
        pump(); // concurrency may have grown
}

void WebhookDispatcher::start()
{
    m_started = true;
    if (!m_store)
        return;
    if (const int gone = m_store->removeFinishedOfGoneJobs(); gone > 0)
        qCInfo(lcWebhooks) << "removed" << gone << "ended delivery(ies) of pruned jobs";
    const QHash<QString, int> counts = m_store->countByState();
    if (counts.value(QStringLiteral("pending")) > 0)
        qCInfo(lcWebhooks) << counts.value(QStringLiteral("pending")) << "webhook delivery(ies) pending from before";
    pump();
}

Status WebhookDispatcher::check(const JobWebhook &webhook) const
{
    if (webhook.url.isEmpty())
        return std::nullopt; // "webhook": false
    const QUrl url(webhook.url, QUrl::StrictMode);
    if (const QString why = webhookpolicy::urlProblem(url); !why.isEmpty())
        return invalidWebhook(QStringLiteral("webhook.url"), why);
    if (const QString why = webhookpolicy::eventsProblem(webhook.events); !why.isEmpty())
        return invalidWebhook(QStringLiteral("webhook.events"), why);
    if (const QHostAddress literal(url.host()); !literal.isNull()) {
        if (const QString why = webhookpolicy::addressProblem(url.host(), {literal}, m_settings.allowHosts);
            !why.isEmpty())
            return Error::make(ErrorCode::WebhookUrlForbidden, why,
                               {{QStringLiteral("field"), QStringLiteral("webhook.url")},
                                {QStringLiteral("address"), literal.toString()}});
    }
    if (!m_store)
        return Error::make(ErrorCode::WebhooksNotConfigured,
                           QStringLiteral("the job store is not open, so webhook deliveries could not be durable"));
    if (!webhookpolicy::decodeSecret(m_settings.secret))
        return Error::make(
            ErrorCode::WebhooksNotConfigured,
            QStringLiteral("webhooks need [webhooks] secret in the configuration (deliveries are signed)"));
    return std::nullopt;
}

void WebhookDispatcher::checkAddress(const QUrl &url, QObject *context, std::function<void(Status)> done)
{
    if (!QHostAddress(url.host()).isNull()) { // a literal: check() has seen it
        done(std::nullopt);
        return;
    }
    struct Pending {
        QPointer<QObject> context;
        std::function<void(Status)> done;
        int lookupId = -1;
        bool answered = false;
    };
    auto pending = std::make_shared<Pending>(Pending{context, std::move(done)});
    auto answer = [pending](Status s) {
        if (std::exchange(pending->answered, true))
            return;
        if (pending->lookupId >= 0)
            QHostInfo::abortHostLookup(pending->lookupId);
        if (pending->context)
            pending->done(std::move(s));
    };
    const QString host = url.host();
    const QStringList allow = m_settings.allowHosts;
    pending->lookupId = QHostInfo::lookupHost(host, this, [pending, answer, host, allow](const QHostInfo &info) {
        pending->lookupId = -1;
        const QString why = info.error() == QHostInfo::NoError
            ? webhookpolicy::addressProblem(host, info.addresses(), allow)
            : QString();
        if (why.isEmpty())
            return answer(std::nullopt);
        answer(Error::make(ErrorCode::WebhookUrlForbidden, why,
                           {{QStringLiteral("field"), QStringLiteral("webhook.url")}}));
    });
    // A resolver that hangs must not hold the submission: the delivery checks again anyway.
    QTimer::singleShot(qMin(m_settings.timeoutMs, 5000), this, [answer] { answer(std::nullopt); });
}

std::optional<JobWebhook> WebhookDispatcher::webhookOf(const Job &job) const
{
    if (job.webhook)
        return job.webhook->url.isEmpty() ? std::nullopt : job.webhook;
    if (m_settings.url.isEmpty())
        return std::nullopt;
    return JobWebhook{m_settings.url.toString(), m_settings.events};
}

QString WebhookDispatcher::enqueue(const Job &job, const QString &event)
{
    if (job.remote)
        return {}; // another runner of the cluster caused it, and delivers it
    const std::optional<JobWebhook> webhook = webhookOf(job);
    if (!webhook || !webhook->events.contains(event))
        return {};
    if (!m_store) {
        qCWarning(lcWebhooks).noquote() << "no job store: the" << event << "webhook of job" << job.id << "is dropped";
        return {};
    }
    const qint64 at = now();
    const QJsonObject body{{QStringLiteral("type"), event},
                           {QStringLiteral("timestamp"), protocol::isoUtc(QDateTime::fromMSecsSinceEpoch(at, Qt::UTC))},
                           {QStringLiteral("data"), m_jobJson ? m_jobJson(job) : QJsonObject()}};
    const QString id = m_store->add(
        {job.id, event, webhook->url, QJsonDocument(body).toJson(QJsonDocument::Compact), m_settings.maxAttempts}, at);
    if (!id.isEmpty() && m_started)
        pump();
    return id;
}

WebhookDeliveryRecord WebhookDispatcher::marked(WebhookDeliveryRecord record) const
{
    // A row in an attempt holds a lease as its next time, not a planned attempt: say what happens instead.
    if (m_attempts.contains(record.id)) {
        record.inFlight = true;
        record.nextAttemptAt = QDateTime();
    }
    return record;
}

QList<WebhookDeliveryRecord> WebhookDispatcher::deliveriesOf(const QString &jobId) const
{
    QList<WebhookDeliveryRecord> out = m_store ? m_store->ofJob(jobId, 100) : QList<WebhookDeliveryRecord>();
    for (WebhookDeliveryRecord &r : out)
        r = marked(r);
    return out;
}

DeliveryPage WebhookDispatcher::list(const DeliveryFilter &filter) const
{
    DeliveryPage page = m_store ? m_store->list(filter) : DeliveryPage();
    for (WebhookDeliveryRecord &r : page.deliveries)
        r = marked(r);
    return page;
}

std::optional<WebhookDeliveryRecord> WebhookDispatcher::find(const QString &id) const
{
    const std::optional<WebhookDeliveryRecord> r = m_store ? m_store->find(id) : std::nullopt;
    return r ? std::optional(marked(*r)) : std::nullopt;
}

Result<WebhookDeliveryRecord> WebhookDispatcher::redeliver(const QString &id)
{
    if (!m_store)
        return Error::make(ErrorCode::WebhooksNotConfigured, QStringLiteral("the job store is not open"));
    const auto missing = [&id] {
        return Error::make(ErrorCode::DeliveryNotFound, QStringLiteral("no webhook delivery with id %1").arg(id),
                           {{QStringLiteral("id"), id}});
    };
    if (!m_attempts.contains(id) && !m_store->redeliver(id, now(), m_settings.maxAttempts))
        return missing();
    if (m_started)
        pump();
    const std::optional<WebhookDeliveryRecord> r = find(id);
    if (!r)
        return missing();
    return *r;
}

qint64 WebhookDispatcher::retryDelayMs(const WebhookSettings &settings, int attemptsMade, double unit)
{
    const double base = double(settings.retryDelayMs) * std::pow(4.0, qMax(0, attemptsMade - 1));
    const double capped = qMin(base, double(settings.retryMaxDelayMs));
    return qMax<qint64>(1, qint64(capped * (0.8 + 0.4 * unit)));
}

void WebhookDispatcher::pump()
{
    if (!m_started || !m_store || std::exchange(m_pumping, true))
        return;
    const int room = m_settings.concurrency - int(m_attempts.size());
    if (room > 0) {
        const qint64 at = now();
        const QList<DueDelivery> due = m_store->takeDue(at, room, m_settings.timeoutMs + kLeaseSlackMs);
        for (const DueDelivery &d : due) {
            auto *attempt = new WebhookAttempt(d, m_settings, m_nam, this);
            m_attempts.insert(d.id, attempt);
            connect(attempt, &WebhookAttempt::finished, this,
                    [this, attempt](const AttemptOutcome &o) { onAttemptFinished(attempt, o); });
            attempt->start();
        }
        m_peakInFlight = qMax(m_peakInFlight, int(m_attempts.size()));
    }
    // Full: the next finished attempt pumps again. Otherwise wake when the earliest row falls due.
    m_wake.stop();
    if (int(m_attempts.size()) < m_settings.concurrency) {
        if (const std::optional<qint64> next = m_store->nextDueAt())
            m_wake.start(int(qBound<qint64>(0, *next - now(), qint64(kMaxWakeMs))));
    }
    m_pumping = false;
}

void WebhookDispatcher::onAttemptFinished(WebhookAttempt *attempt, const AttemptOutcome &o)
{
    using Kind = AttemptOutcome::Kind;
    const DueDelivery d = attempt->delivery();
    m_attempts.remove(d.id);
    attempt->deleteLater();
    ++m_outcomes[AttemptOutcome::kindName(o.kind)];
    QString state;
    qint64 next = 0;
    if (o.kind == Kind::Success)
        state = QStringLiteral("delivered");
    else if (o.kind == Kind::Gone || o.kind == Kind::Forbidden || d.attempt >= d.maxAttempts)
        state = QStringLiteral("failed");
    else
        state = QStringLiteral("pending"),
        next = now() + retryDelayMs(m_settings, d.attempt, QRandomGenerator::global()->generateDouble());
    m_store->finishAttempt(d.id, state, o.status, o.error, next);
    if (state == QLatin1String("delivered"))
        ++m_delivered;
    else if (state == QLatin1String("failed"))
        ++m_failed;
    if (state == QLatin1String("failed"))
        qCWarning(lcWebhooks).noquote() << "delivery" << d.id << "of" << d.event << "for job" << d.jobId << "to"
                                        << d.url << "failed after" << d.attempt << "attempt(s):" << o.error;
    else if (state == QLatin1String("pending"))
        qCInfo(lcWebhooks).noquote() << "delivery" << d.id << "attempt" << d.attempt << "failed (" + o.error + "),"
                                     << "next in" << (next - now()) << "ms";
    emit attemptFinished({d.id, d.jobId, d.event, d.attempt, o, state});
    pump();
}

void WebhookDispatcher::addMetrics(MetricsRegistry *registry)
{
    registry->add(this, [this](MetricsWriter &w) {
        w.family("comfyrunner_webhook_attempts_total", MetricType::Counter,
                 "Webhook delivery attempts, by outcome (success, http_error, gone, network_error, timeout, forbidden, "
                 "unsigned).");
        for (const char *kind : {"success", "http_error", "gone", "network_error", "timeout", "forbidden", "unsigned"})
            w.value({{"outcome", kind}}, double(m_outcomes.value(QLatin1String(kind))));
        w.family("comfyrunner_webhook_deliveries_total", MetricType::Counter,
                 "Webhook deliveries that ended, by state (delivered, failed).");
        w.value({{"state", "delivered"}}, double(m_delivered));
        w.value({{"state", "failed"}}, double(m_failed));
        const QHash<QString, int> counts = m_store ? m_store->countByState() : QHash<QString, int>();
        w.single("comfyrunner_webhook_deliveries_pending", MetricType::Gauge,
                 "Webhook deliveries waiting for an attempt or in one (stored in the job store).",
                 counts.value(QStringLiteral("pending")));
        w.single("comfyrunner_webhook_attempts_in_flight", MetricType::Gauge, "Webhook attempts in flight now.",
                 double(m_attempts.size()));
    });
}

} // namespace cr
