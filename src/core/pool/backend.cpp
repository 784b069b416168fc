#include "core/pool/backend.h"

#include "core/pool/poollog.h"

#include <QJsonArray>

namespace cr {

Backend::Backend(const BackendSettings &settings, const ComfySettings &shared, const QString &clientId, QObject *parent)
    : QObject(parent), m_settings(settings)
{
    ComfySettings s = shared;
    s.url = settings.url;
    s.name = settings.name;
    m_owned = std::make_unique<ComfyClient>(s, clientId);
    m_client = m_owned.get();
    wire();
}

Backend::Backend(const BackendSettings &settings, ComfyClient *client, QObject *parent)
    : QObject(parent), m_settings(settings), m_client(client)
{
    wire();
}

Backend::~Backend() = default;

void Backend::wire()
{
    connect(m_client, &ComfyClient::stateChanged, this, &Backend::onStateChanged);
    connect(m_client, &ComfyClient::eventReceived, this, [this](const protocol::ComfyEvent &ev) {
        if (const auto *st = ev.as<protocol::StatusEvent>())
            m_queueRemaining = st->queueRemaining;
    });
    if (isConnected())
        refresh();
}

QString Backend::stateName() const
{
    if (m_draining)
        return QStringLiteral("draining");
    return connectionStateName(state());
}

void Backend::setDraining(bool draining)
{
    if (m_draining == draining)
        return;
    m_draining = draining;
    m_since = QDateTime::currentDateTimeUtc();
    qCInfo(lcPool).noquote() << "backend" << name() << (draining ? "draining: no new jobs" : "resumed");
    emit changed();
}

void Backend::onStateChanged(ConnectionState state)
{
    m_since = QDateTime::currentDateTimeUtc();
    if (state == ConnectionState::Connected) {
        m_downSince = QDateTime();
        m_lastError.clear();
        if (!m_released.isEmpty()) {
            // Taken back while it was away: find out which of them ran here anyway (running now, or in its
            // history), then delete and interrupt them, so that none runs on.
            const QStringList ids = std::exchange(m_released, {});
            ComfyHttp *http = m_client->http();
            QPointer<Backend> self(this);
            http->queue([self, http, ids](Result<QueueSnapshot> q) {
                for (const QString &id : ids) {
                    if (q && q->running.contains(id)) {
                        if (self)
                            emit self->releasedPromptRan(id);
                        continue;
                    }
                    http->history(id, [self, id](Result<QJsonObject> h) {
                        if (self && h && !h->isEmpty())
                            emit self->releasedPromptRan(id);
                    });
                }
                http->deleteFromQueue(ids, [http, ids](Status) {
                    for (const QString &id : ids)
                        http->interrupt(id, [](Status) {});
                });
            });
        }
        refresh();
    } else if (!m_downSince.isValid()) {
        m_downSince = m_since;
        m_lastError = QStringLiteral("connection lost at %1").arg(m_since.toString(Qt::ISODateWithMs));
    }
    emit changed();
}

qint64 Backend::disconnectedForMs() const
{
    return m_downSince.isValid() ? m_downSince.msecsTo(QDateTime::currentDateTimeUtc()) : 0;
}

int Backend::modelCount() const
{
    int n = 0;
    for (const QSet<QString> &files : m_models)
        n += int(files.size());
    return n;
}

void Backend::release(const QString &promptId)
{
    m_client->release(promptId);
    if (!isConnected() && !m_released.contains(promptId))
        m_released.append(promptId);
}

void Backend::noteHandover(const QString &checkpoint)
{
    if (!checkpoint.isEmpty())
        m_lastCheckpoint = checkpoint;
}

void Backend::refresh()
{
    const int generation = ++m_generation;
    m_nextClassTypes.clear();
    m_nextModels.clear();
    m_pendingReads = 3; // /object_info, /models and /node_replacements
    m_readFailed = false;
    ComfyHttp *http = m_client->http();
    // The answers come through the client's ComfyHttp, which outlives this Backend when the client is not
    // ours (a pool of one around a client made elsewhere): every callback checks that it is still here.
    const QPointer<Backend> self(this);
    const auto current = [self, generation] { return self && generation == self->m_generation; };
    http->systemStats([self, current](Result<QJsonObject> r) { // GPU, VRAM: for the backends list
        if (current() && r)
            self->m_systemStats = *r;
    });
    http->nodeReplacements([self, current](Result<QJsonObject> r) {
        if (!current())
            return;
        if (r)
            self->m_nodeReplacements = *r;
        else // not needed to route: the old table (or none) stays
            qCDebug(lcPool).noquote() << "backend" << self->name() << "GET /node_replacements:" << r.error().message;
        self->capabilityRead();
    });
    http->forgetObjectInfo();
    http->objectInfo([self, current](Result<QJsonObject> r) {
        if (!current())
            return;
        if (r) {
            const QStringList keys = r->keys();
            self->m_nextClassTypes = QSet<QString>(keys.cbegin(), keys.cend());
        } else {
            self->m_lastError = QStringLiteral("GET /object_info: %1").arg(r.error().message);
            self->m_readFailed = true; // not known; the next reconnect (or refresh) tries again
            return;
        }
        self->capabilityRead();
    });
    http->models(QString(), [self, current, http](Result<QStringList> r) {
        if (!current())
            return;
        if (!r) {
            self->m_lastError = QStringLiteral("GET /models: %1").arg(r.error().message);
            self->m_readFailed = true;
            return;
        }
        for (const QString &folder : modelFoldersOfInterest()) {
            if (!r->contains(folder))
                continue;
            ++self->m_pendingReads;
            http->models(folder, [self, current, folder](Result<QStringList> files) {
                if (!current())
                    return;
                if (files)
                    self->m_nextModels.insert(folder, QSet<QString>(files->cbegin(), files->cend()));
                else
                    self->m_lastError = QStringLiteral("GET /models/%1: %2").arg(folder, files.error().message);
                self->capabilityRead();
            });
        }
        self->capabilityRead();
    });
}

void Backend::capabilityRead()
{
    if (--m_pendingReads > 0 || m_readFailed)
        return;
    m_classTypes = m_nextClassTypes;
    m_models = m_nextModels;
    m_capabilitiesKnown = true;
    qCInfo(lcPool).noquote() << "backend" << name() << "has" << m_classTypes.size() << "node class(es) and"
                             << modelCount() << "model file(s)";
    emit changed();
}

BackendSnapshot Backend::snapshot() const
{
    BackendSnapshot s;
    s.name = name();
    s.tags = m_settings.tags;
    s.connected = isConnected();
    s.draining = m_draining;
    s.capabilitiesKnown = m_capabilitiesKnown;
    s.classTypes = m_classTypes;
    s.models = m_models;
    s.inFlight = inFlight();
    s.maxInFlight = m_settings.maxInFlight;
    s.lastCheckpoint = m_lastCheckpoint;
    return s;
}

QJsonObject Backend::toJson() const
{
    const auto orNull = [](const QString &s) { return s.isEmpty() ? QJsonValue() : QJsonValue(s); };
    return {{QStringLiteral("name"), name()},
            {QStringLiteral("url"), m_settings.url.toString()},
            {QStringLiteral("state"), stateName()},
            {QStringLiteral("connected"), isConnected()},
            {QStringLiteral("draining"), m_draining},
            {QStringLiteral("in_flight"), inFlight()},
            {QStringLiteral("max_in_flight"),
             m_settings.maxInFlight > 0 ? QJsonValue(m_settings.maxInFlight) : QJsonValue()},
            {QStringLiteral("queue_length"), m_queueRemaining},
            {QStringLiteral("last_checkpoint"), orNull(m_lastCheckpoint)},
            {QStringLiteral("capabilities_known"), m_capabilitiesKnown},
            {QStringLiteral("node_count"), classCount()},
            {QStringLiteral("model_count"), modelCount()},
            {QStringLiteral("tags"), QJsonArray::fromStringList(m_settings.tags)},
            {QStringLiteral("last_error"), orNull(m_lastError)},
            {QStringLiteral("system_stats"), m_systemStats.isEmpty() ? QJsonValue() : QJsonValue(m_systemStats)},
            {QStringLiteral("since"), m_since.toString(Qt::ISODateWithMs)}};
}

} // namespace cr
