#include "core/service/service.h"

#include "core/api/apijson.h"
#include "core/api/apiserver.h"
#include "core/comfy/comfyclient.h"
#include "core/config/bindhost.h"
#include "core/config/effectiveconfig.h"
#include "core/config/storeurl.h"
#include "core/jobs/jobmanager.h"
#include "core/metrics/metricsregistry.h"
#include "core/pool/backendpool.h"
#include "core/relay/eventhub.h"
#include "core/relay/relayserver.h"
#include "core/service/jobeventpublisher.h"
#include "core/service/logsink.h"
#include "core/service/servicemetrics.h"
#include "core/service/systemdnotifier.h"
#include "core/webhooks/webhookdispatcher.h"
#include "core/workflows/activedraft.h"
#include "core/workflows/workflowstore.h"

#include <QDir>
#include <QFile>
#include <QLoggingCategory>
#include <QSaveFile>
#include <QSysInfo>
#include <QUuid>

Q_LOGGING_CATEGORY(lcService, "comfyrunner.service")

namespace cr {

namespace {

// The WebSocket client id: from the config, else generated once and kept in the data folder so that a
// restarted service keeps its identity towards ComfyUI.
QString stableClientId(const Config &config)
{
    if (!config.comfy.clientId.isEmpty())
        return config.comfy.clientId;
    const QString path = QDir(config.paths.dataDir).filePath(QStringLiteral("client_id"));
    QFile in(path);
    if (in.open(QIODevice::ReadOnly)) {
        const QString id = QString::fromUtf8(in.readAll()).trimmed();
        if (!id.isEmpty() && id.size() <= 128)
            return id;
    }
    const QString id = QStringLiteral("comfy-runner-") + QUuid::createUuid().toString(QUuid::Id128).left(12);
    QSaveFile out(path);
    if (out.open(QIODevice::WriteOnly)) {
        out.write(id.toUtf8());
        out.commit();
    }
    return id;
}

// One log line per meaningful step of a run, so an operator can follow it (never per preview frame).
void logEvent(const protocol::ComfyEvent &ev)
{
    using protocol::EventType;
    switch (ev.type) {
    case EventType::ExecutionStart:
        qCInfo(lcService).noquote() << "comfy: execution_start" << ev.promptId;
        break;
    case EventType::Executing:
        if (const auto *e = ev.as<protocol::ExecutingEvent>(); e && !e->finished)
            qCInfo(lcService).noquote() << "comfy: executing node" << e->node << "of" << ev.promptId;
        break;
    case EventType::Progress: // every step: debug only (it costs the relay measurable CPU at info)
        if (const auto *p = ev.as<protocol::ProgressEvent>(); p && lcService().isDebugEnabled())
            qCDebug(lcService).noquote()
                << QStringLiteral("comfy: progress %1/%2 node %3").arg(p->value).arg(p->max).arg(p->node);
        break;
    case EventType::Executed:
        if (const auto *e = ev.as<protocol::ExecutedEvent>())
            qCInfo(lcService).noquote() << "comfy: executed node" << e->node << "with" << e->files.size() << "file(s)";
        break;
    case EventType::ExecutionSuccess:
    case EventType::ExecutionError:
    case EventType::ExecutionInterrupted:
        qCInfo(lcService).noquote() << "comfy:" << ev.typeName << ev.promptId;
        break;
    default:
        break;
    }
}

} // namespace

// Everything the service owns, in construction order (destroyed in reverse).
struct Service::Parts {
    std::unique_ptr<MetricsRegistry> metrics; // null when [metrics] enabled = false
    std::unique_ptr<WorkflowStore> workflows;
    std::unique_ptr<ActiveDraft> draft;
    std::unique_ptr<BackendPool> pool;
    std::unique_ptr<JobStore> store;
    std::unique_ptr<JobManager> jobs;
    std::unique_ptr<WebhookDispatcher> webhooks;
    std::unique_ptr<EventHub> hub;
    std::unique_ptr<JobEventPublisher> publisher;
    std::unique_ptr<RelayServer> relay;
    std::unique_ptr<ServiceMetrics> serviceMetrics;
    std::unique_ptr<ApiServer> api;
    std::unique_ptr<SystemdNotifier> notifier;
    ConfigStatus configStatus;
    quint16 httpPort = 0;
    quint16 relayPort = 0;
    QHash<QString, bool> comfyDown; // per backend, so that "unreachable" is reported once per loss
    bool stopping = false;
};

Service::Service(Config config, QObject *parent)
    : QObject(parent), m_config(std::move(config)), m_parts(std::make_unique<Parts>())
{ }

Service::~Service() { stop(); }

bool Service::start(QString *error)
{
    if (!QDir().mkpath(m_config.paths.dataDir)) {
        if (error)
            *error = QStringLiteral("cannot create the data folder %1").arg(m_config.paths.dataDir);
        return false;
    }
    qCInfo(lcService).noquote() << "starting with this configuration:\n" + m_config.toToml().trimmed();
    applyLogRules(m_config.log.rules);

    Parts &p = *m_parts;
    p.configStatus.file = m_config.sourceFile;
    p.configStatus.loadedAt = QDateTime::currentDateTimeUtc();
    p.workflows = std::make_unique<WorkflowStore>(m_config.paths.workflowsDir);
    for (const WorkflowLoadError &e : p.workflows->errors())
        qCWarning(lcService).noquote() << "workflow" << e.filePath << "skipped:" << e.error.message;
    p.draft = std::make_unique<ActiveDraft>(p.workflows.get(), m_config.nodeMappings, m_config.comfy.workflow);
    if (!p.draft->hasDraft())
        qCWarning(lcService).noquote() << "the active workflow" << m_config.comfy.workflow << "is not in"
                                       << m_config.paths.workflowsDir;
    p.pool = std::make_unique<BackendPool>(m_config, stableClientId(m_config));
    // ComfyUI's frames reach the relay first, before the job bookkeeping (and its own events) for them.
    p.hub = std::make_unique<EventHub>(EventHubLimits::from(m_config.relay, m_config.jobs));
    p.publisher = std::make_unique<JobEventPublisher>(p.pool.get(), p.hub.get());
    QString storeError;
    const std::optional<StoreUrl> storeUrl = parseStoreUrl(m_config.store.url, m_config.paths.dataDir, &storeError);
    if (!storeUrl) {
        if (error)
            *error = QStringLiteral("[store] url: %1").arg(storeError);
        return false;
    }
    p.store = std::make_unique<JobStore>(*storeUrl, qEnvironmentVariable("COMFY_RUNNER_DB_PASSWORD"));
    if (!p.store->isOpen() && storeUrl->engine == StoreUrl::Engine::Postgres) {
        // A shared database is the point of the configuration: running without it would split the cluster.
        if (error)
            *error = QStringLiteral("cannot open the job store: %1").arg(p.store->error());
        return false;
    }
    if (!p.store->isOpen())
        qCWarning(lcService).noquote() << "jobs will not survive a restart: cannot open the job store:"
                                       << p.store->error();
    p.jobs = std::make_unique<JobManager>(p.pool.get(), p.store->isOpen() ? p.store.get() : nullptr);
    p.jobs->setMaxRunTime(m_config.comfy.maxJobTimeMs);
    p.jobs->setRetention(m_config.jobs);
    // Connected to the jobs first: a job event's delivery rows are stored before a waiting request or the
    // relay hears of it. The job JSON it sends is the one GET /api/v1/jobs/{id} shows.
    p.webhooks = std::make_unique<WebhookDispatcher>(p.store->isOpen() ? p.store.get() : nullptr, p.jobs.get(),
                                                     [](const Job &job) { return jobToJson(job); });
    p.webhooks->setSettings(m_config.webhooks);
    connect(p.pool.get(), &BackendPool::eventReceived, this,
            [](const QString &, const protocol::ComfyEvent &ev) { logEvent(ev); });
    for (Backend *b : p.pool->backends()) {
        connect(b->client(), &ComfyClient::stateChanged, this, [this, b](ConnectionState s) {
            // Attempts while ComfyUI is down are debug noise; the first loss and every recovery are not.
            const QString what = m_parts->pool->isPoolOfOne() ? QStringLiteral("ComfyUI")
                                                              : QStringLiteral("ComfyUI \"%1\"").arg(b->name());
            if (s == ConnectionState::Connected)
                qCInfo(lcService).noquote() << what << "connected at" << b->settings().url.toString();
            else if (s == ConnectionState::Disconnected && !m_parts->stopping
                     && !std::exchange(m_parts->comfyDown[b->name()], true))
                qCWarning(lcService).noquote() << what << "at" << b->settings().url.toString()
                                               << "is not reachable; reconnecting in the background";
            if (s == ConnectionState::Connected)
                m_parts->comfyDown[b->name()] = false;
        });
    }

    p.relay = std::make_unique<RelayServer>(p.hub.get(), m_config.relay, m_config.authToken);
    QString why;
    if (!p.relay->listen(&why)) {
        if (error)
            *error = QStringLiteral("the event relay cannot start: %1").arg(why);
        return false;
    }
    p.relayPort = p.relay->port();
    if (m_config.metrics.enabled) {
        p.metrics = std::make_unique<MetricsRegistry>();
        p.serviceMetrics = std::make_unique<ServiceMetrics>(p.metrics.get(), p.pool.get(), p.jobs.get(), p.relay.get(),
                                                            p.workflows.get());
        p.webhooks->addMetrics(p.metrics.get());
    }

    ApiContext ctx;
    ctx.jobs = p.jobs.get();
    ctx.comfy = p.pool->first()->client();
    ctx.pool = p.pool.get();
    ctx.workflows = p.workflows.get();
    ctx.draft = p.draft.get();
    ctx.hub = p.hub.get();
    ctx.relay = p.relay.get();
    ctx.metrics = p.metrics.get();
    ctx.webhooks = p.webhooks.get();
    ctx.config = m_config;
    ctx.configStatus = &p.configStatus;
    p.api = std::make_unique<ApiServer>(ctx);
    if (!p.api->listen(&why)) {
        if (error)
            *error = QStringLiteral("the REST API cannot start: %1").arg(why);
        return false;
    }
    p.httpPort = p.api->port();
    p.publisher->attach(p.jobs.get()); // after the API: a waiting request is answered before the relay is told
    // image_generated answers no request: its URLs name an address a client can use (never "*" or 0.0.0.0).
    QUrl httpBase;
    httpBase.setScheme(QStringLiteral("http"));
    httpBase.setHost(urlHostFor(p.api->address()));
    httpBase.setPort(p.httpPort);
    p.publisher->setHttpBase(httpBase);
    if (storeUrl->engine == StoreUrl::Engine::Postgres) {
        // A shared database: this runner is one of a cluster (docs/cluster.md).
        const QString node = m_config.cluster.node.isEmpty() ? QSysInfo::machineHostName() : m_config.cluster.node;
        QString live = m_config.cluster.liveUrl;
        if (live.isEmpty()) {
            QUrl u;
            u.setScheme(QStringLiteral("ws"));
            u.setHost(QSysInfo::machineHostName());
            u.setPort(p.relayPort);
            u.setPath(QStringLiteral("/"));
            live = u.toString();
        }
        p.jobs->enableCluster(node, m_config.cluster.leaseMs, live);
    }
    p.jobs->restore();
    p.webhooks->start(); // deliveries left pending by the last run go out now
    p.pool->start();
    qCInfo(lcService).noquote() << QStringLiteral("REST API on http://%1, event relay on ws://%2")
                                       .arg(hostPortString(p.api->address(), p.httpPort),
                                            hostPortString(p.relay->address(), p.relayPort));
    qCInfo(lcService) << "ready";
    p.notifier = std::make_unique<SystemdNotifier>([this] { return statusLine(); });
    p.notifier->ready();
    return true;
}

QString Service::statusLine() const
{
    const Parts &p = *m_parts;
    const int active = p.jobs ? p.jobs->activeCount() : 0;
    const int clients = p.relay ? p.relay->clientCount() : 0;
    if (p.pool && !p.pool->isPoolOfOne())
        return QStringLiteral("%1 of %2 ComfyUI backends connected, %3 job(s) running or queued, %4 relay client(s)")
            .arg(p.pool->connectedCount())
            .arg(p.pool->backends().size())
            .arg(active)
            .arg(clients);
    return QStringLiteral("ComfyUI %1, %2 job(s) running or queued, %3 relay client(s)")
        .arg(connectionStateName(p.pool ? p.pool->first()->state() : ConnectionState::Disconnected))
        .arg(active)
        .arg(clients);
}

void Service::stop()
{
    Parts &p = *m_parts;
    if (p.notifier && !p.stopping)
        p.notifier->stopping();
    p.stopping = true;
    if (p.relay)
        p.relay->close();
    if (p.pool)
        p.pool->stop();
}

void Service::reload(const EffectiveConfig &loaded)
{
    Parts &p = *m_parts;
    if (!p.api || p.stopping)
        return; // not started (or stopping): nothing runs on a configuration yet
    if (p.notifier)
        p.notifier->reloading();
    ConfigStatus &status = p.configStatus;
    status.lastReloadAt = QDateTime::currentDateTimeUtc();
    for (const QString &w : loaded.warnings)
        qCWarning(lcService).noquote() << w;

    QString refused = loaded.failure();
    Config next = loaded.config ? *loaded.config : m_config;
    const QStringList notApplied = loaded.config ? keepRestartOnlyValues(next, m_config) : QStringList();
    // The listeners stay where they are bound: the token rule must hold for them with the new [auth].
    if (refused.isEmpty())
        refused = networkExposureError(next);
    if (!refused.isEmpty()) {
        ++status.failedReloads;
        status.lastReloadError = refused;
        qCWarning(lcService).noquote() << "the configuration was not reloaded, nothing changed (still the one loaded at"
                                       << status.loadedAt.toString(Qt::ISODate) + "):\n" + refused;
        if (p.notifier)
            p.notifier->reloaded(QStringLiteral("reload failed, running on the previous configuration: %1")
                                     .arg(refused.section(QLatin1Char('\n'), 0, 0)));
        return;
    }

    const Config old = std::exchange(m_config, next);
    QStringList notes;
    applyLogRules(next.log.rules);
    p.relay->setToken(next.authToken);
    p.relay->setLimits(next.relay);
    p.api->setConfig(next);
    p.jobs->setRetention(next.jobs);
    p.jobs->setMaxRunTime(next.comfy.maxJobTimeMs);
    p.webhooks->setSettings(next.webhooks);
    p.draft->setMappings(next.nodeMappings);
    p.workflows->reload(); // new, changed and removed files now; an edited draft is kept (flagged stale)
    for (const WorkflowLoadError &e : p.workflows->errors())
        qCWarning(lcService).noquote() << "workflow" << e.filePath << "skipped:" << e.error.message;
    // [comfy] workflow changed in the file: follow it unless the draft has edits nobody ran or reset yet.
    const QString wanted = WorkflowStore::normaliseName(next.comfy.workflow);
    if (wanted != WorkflowStore::normaliseName(old.comfy.workflow) && wanted != p.draft->name()) {
        if (p.draft->hasDraft() && p.draft->isModified()) {
            notes << QStringLiteral("comfy.workflow: the active draft of \"%1\" has edits and was kept; "
                                    "PUT /api/v1/draft/workflow {\"name\": \"%2\"} switches (and drops them)")
                         .arg(p.draft->name(), wanted);
        } else if (const Status bad = p.draft->switchTo(wanted)) {
            notes << QStringLiteral("comfy.workflow: %1 \"%2\" stays active.").arg(bad->message, p.draft->name());
        }
    }

    ++status.reloads;
    status.loadedAt = status.lastReloadAt;
    status.lastReloadError.clear();
    status.notApplied = notApplied;
    status.notes = notes;
    qCInfo(lcService).noquote() << "configuration reloaded from"
                                << (next.sourceFile.isEmpty() ? QStringLiteral("the defaults") : next.sourceFile);
    for (const QString &n : std::as_const(notes))
        qCWarning(lcService).noquote() << n;
    if (!notApplied.isEmpty())
        qCWarning(lcService).noquote() << "not applied until restart:" << notApplied.join(QStringLiteral(", "));
    if (p.notifier)
        p.notifier->reloaded(notApplied.isEmpty()
                                 ? QStringLiteral("configuration reloaded")
                                 : QStringLiteral("configuration reloaded; not applied until restart: %1")
                                       .arg(notApplied.join(QStringLiteral(", "))));
}

quint16 Service::httpPort() const { return m_parts->httpPort; }
ComfyClient *Service::comfy() const { return m_parts->pool ? m_parts->pool->first()->client() : nullptr; }
BackendPool *Service::pool() const { return m_parts->pool.get(); }
JobManager *Service::jobs() const { return m_parts->jobs.get(); }
ActiveDraft *Service::draft() const { return m_parts->draft.get(); }
EventHub *Service::hub() const { return m_parts->hub.get(); }
ApiServer *Service::api() const { return m_parts->api.get(); }
WebhookDispatcher *Service::webhooks() const { return m_parts->webhooks.get(); }
void Service::stopApi() { m_parts->api.reset(); }
quint16 Service::relayPort() const { return m_parts->relayPort; }

} // namespace cr
