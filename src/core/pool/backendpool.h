#pragma once
// The ComfyUIs the service fronts ([[backends]], or [comfy] alone as a pool of one): owns one Backend each,
// starts and stops them, passes on their traffic with the backend's name, and says when a backend has been
// gone long enough ([comfy] ping_timeout) that the prompts handed to it should be taken back.

#include "core/config/config.h"
#include "core/pool/backend.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <QTimer>

namespace cr {

class BackendPool final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(BackendPool)

public:
    // One backend per Config::poolBackends(), sharing [comfy]'s settings and the client id.
    BackendPool(const Config &config, const QString &clientId, QObject *parent = nullptr);
    // A pool of one around a client made elsewhere (not owned), named `name`, with no in-flight limit.
    explicit BackendPool(ComfyClient *client, const QString &name = QStringLiteral("default"),
                         QObject *parent = nullptr);
    ~BackendPool() override;

    void start();
    void stop();

    const QList<Backend *> &backends() const { return m_backends; }
    Backend *find(const QString &name) const;
    Backend *first() const { return m_backends.value(0); }
    // [comfy] alone: graphs are not checked against its nodes and models (ComfyUI's validation answers),
    // and a dropped connection is waited out rather than failed over.
    bool isPoolOfOne() const { return m_poolOfOne; }
    int connectedCount() const;
    QList<BackendSnapshot> snapshots() const;
    // How long a backend may stay disconnected before backendDown (default: [comfy] ping_timeout).
    void setFailoverAfterMs(int ms) { m_failoverMs = ms; }

signals:
    void eventReceived(const QString &backend, const cr::protocol::ComfyEvent &event);
    void previewReceived(const QString &backend, const cr::protocol::PreviewFrame &frame, const QByteArray &raw);
    void otherBinaryReceived(const QString &backend, const QByteArray &raw);
    void promptFinished(const QString &backend, const cr::PromptOutcome &outcome);
    void backendChanged(const QString &backend);
    void backendDown(const QString &backend); // disconnected for longer than the failover time
    void promptSuperseded(const QString &backend, const QString &promptId); // Backend::releasedPromptRan

private:
    void add(Backend *backend);

    QList<Backend *> m_backends;
    QHash<QString, QTimer *> m_downTimers;
    bool m_poolOfOne = false;
    int m_failoverMs = 10'000;
};

} // namespace cr
