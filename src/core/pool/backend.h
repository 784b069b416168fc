#pragma once
// One ComfyUI of the pool: its ComfyClient plus what the router needs to know of it: connected or not,
// draining, how many prompts it holds, its node classes (/object_info) and model files (/models/{folder}),
// read again on every reconnect and on demand, the checkpoint of the last job it was given, its last error
// and system stats, and since when it is in its current state.

#include "core/comfy/comfyclient.h"
#include "core/config/config.h"
#include "core/pool/router.h"

#include <QDateTime>
#include <QHash>
#include <QJsonObject>
#include <QObject>
#include <QPointer>
#include <QSet>

#include <memory>

namespace cr {

class Backend final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Backend)

public:
    // Creates and owns its ComfyClient (the shared [comfy] settings with this backend's URL).
    Backend(const BackendSettings &settings, const ComfySettings &shared, const QString &clientId,
            QObject *parent = nullptr);
    // Wraps a client made elsewhere (not owned): a JobManager built on one ComfyClient.
    Backend(const BackendSettings &settings, ComfyClient *client, QObject *parent = nullptr);
    ~Backend() override;

    QString name() const { return m_settings.name; }
    const BackendSettings &settings() const { return m_settings; }
    ComfyClient *client() const { return m_client; }
    ConnectionState state() const { return m_client->state(); }
    bool isConnected() const { return state() == ConnectionState::Connected; }
    QString stateName() const;                  // "connected" | "connecting" | "disconnected" | "draining"
    QDateTime since() const { return m_since; } // when the connection state (or draining) last changed

    bool isDraining() const { return m_draining; }
    void setDraining(bool draining);

    bool capabilitiesKnown() const { return m_capabilitiesKnown; }
    int classCount() const { return int(m_classTypes.size()); }
    int modelCount() const;
    QHash<QString, QSet<QString>> models() const { return m_models; }
    // Reads /object_info and the model folders again; `changed` follows when done.
    void refresh();

    // Takes a prompt back (ComfyClient::release); the queue delete and interrupt are sent again when the
    // backend reconnects, so that a prompt handed to another backend does not run here too.
    void release(const QString &promptId);

    int inFlight() const { return m_client->trackedCount(); }
    bool hasRoom() const { return m_settings.maxInFlight <= 0 || inFlight() < m_settings.maxInFlight; }
    int queueRemaining() const { return m_queueRemaining; } // from ComfyUI's last status event
    QString lastCheckpoint() const { return m_lastCheckpoint; }
    void noteHandover(const QString &checkpoint);
    QString lastError() const { return m_lastError; }
    void setLastError(const QString &error) { m_lastError = error; }
    QJsonObject lastSystemStats() const { return m_systemStats; }
    // Its GET /node_replacements answer ({} for a ComfyUI without the route), read with the capabilities.
    QJsonObject nodeReplacements() const { return m_nodeReplacements; }
    void setLastSystemStats(const QJsonObject &stats) { m_systemStats = stats; }
    // How long it has been disconnected (0 while connected).
    qint64 disconnectedForMs() const;

    BackendSnapshot snapshot() const;
    QJsonObject toJson() const; // GET /api/v1/backends/{name}

signals:
    void changed(); // connection, draining or capabilities changed: waiting jobs may now fit
    // A prompt taken back while this backend was away ran here anyway (found when it came back).
    void releasedPromptRan(const QString &promptId);

private:
    void wire();
    void onStateChanged(ConnectionState state);
    void capabilityRead();

    BackendSettings m_settings;
    std::unique_ptr<ComfyClient> m_owned;
    ComfyClient *m_client;
    bool m_draining = false;
    QDateTime m_since = QDateTime::currentDateTimeUtc();
    QDateTime m_downSince = QDateTime::currentDateTimeUtc();
    bool m_capabilitiesKnown = false;
    int m_pendingReads = 0;
    bool m_readFailed = false;
    int m_generation = 0;
    QSet<QString> m_classTypes;
    QHash<QString, QSet<QString>> m_models;
    QSet<QString> m_nextClassTypes;
    QHash<QString, QSet<QString>> m_nextModels;
    int m_queueRemaining = 0;
    QString m_lastCheckpoint;
    QString m_lastError;
    QJsonObject m_systemStats;
    QJsonObject m_nodeReplacements;
    QStringList m_released; // taken back while unreachable: deleted again on reconnect
};

} // namespace cr
