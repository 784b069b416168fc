#include "core/pool/backendpool.h"

#include "core/pool/poollog.h"

Q_LOGGING_CATEGORY(lcPool, "comfyrunner.pool")

namespace cr {

BackendPool::BackendPool(const Config &config, const QString &clientId, QObject *parent)
    : QObject(parent), m_poolOfOne(config.isPoolOfOne()), m_failoverMs(config.comfy.pingTimeoutMs)
{
    for (const BackendSettings &b : config.poolBackends())
        add(new Backend(b, config.comfy, clientId, this));
}

BackendPool::BackendPool(ComfyClient *client, const QString &name, QObject *parent) : QObject(parent), m_poolOfOne(true)
{
    add(new Backend(BackendSettings{name, client->http()->baseUrl(), {}, 0}, client, this));
}

BackendPool::~BackendPool() { stop(); }

void BackendPool::add(Backend *b)
{
    m_backends.append(b);
    const QString name = b->name();
    ComfyClient *c = b->client();
    connect(c, &ComfyClient::eventReceived, this,
            [this, name](const protocol::ComfyEvent &ev) { emit eventReceived(name, ev); });
    connect(
        c, &ComfyClient::previewReceived, this,
        [this, name](const protocol::PreviewFrame &f, const QByteArray &raw) { emit previewReceived(name, f, raw); });
    connect(c, &ComfyClient::otherBinaryReceived, this,
            [this, name](const QByteArray &raw) { emit otherBinaryReceived(name, raw); });
    connect(c, &ComfyClient::promptFinished, this,
            [this, name](const PromptOutcome &o) { emit promptFinished(name, o); });
    connect(b, &Backend::releasedPromptRan, this,
            [this, name](const QString &promptId) { emit promptSuperseded(name, promptId); });
    auto *timer = new QTimer(this);
    timer->setSingleShot(true);
    m_downTimers.insert(name, timer);
    connect(timer, &QTimer::timeout, this, [this, b, name] {
        if (b->isConnected())
            return;
        qCWarning(lcPool).noquote() << "backend" << name << "has been unreachable for" << b->disconnectedForMs()
                                    << "ms; taking back its prompts";
        emit backendDown(name);
    });
    connect(b, &Backend::changed, this, [this, b, name, timer] {
        if (b->isConnected())
            timer->stop();
        else if (!timer->isActive() && b->client()->trackedCount() > 0)
            timer->start(m_failoverMs);
        emit backendChanged(name);
    });
}

void BackendPool::start()
{
    for (Backend *b : std::as_const(m_backends))
        b->client()->start();
}

void BackendPool::stop()
{
    for (Backend *b : std::as_const(m_backends))
        b->client()->stop();
    for (QTimer *t : std::as_const(m_downTimers))
        t->stop();
}

Backend *BackendPool::find(const QString &name) const
{
    for (Backend *b : m_backends)
        if (b->name() == name)
            return b;
    return nullptr;
}

int BackendPool::connectedCount() const
{
    int n = 0;
    for (Backend *b : m_backends)
        n += b->isConnected() ? 1 : 0;
    return n;
}

QList<BackendSnapshot> BackendPool::snapshots() const
{
    QList<BackendSnapshot> out;
    for (Backend *b : m_backends)
        out.append(b->snapshot());
    return out;
}

} // namespace cr
