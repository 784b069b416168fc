#pragma once
// The service's client of one ComfyUI: HTTP calls (ComfyHttp) + the long-lived WebSocket (ComfyConnection),
// plus what neither can do alone: it tracks every prompt it submitted until ComfyUI says it is done. When
// the connection stayed unbroken from the submission to the prompt's last frames (its terminal event and
// `executing` null), the outcome is built from the prompt's own events at once (PromptEvents); otherwise (a
// drop, a lost frame, the watchdog, an adopted prompt) it is read from GET /history after `executing` null.
// After a reconnect or a silence it reconciles in-flight prompts through /queue and /history, so nothing
// waits forever.

#include "core/comfy/comfyconnection.h"
#include "core/comfy/comfyhttp.h"
#include "core/comfy/promptevents.h"
#include "core/comfy/promptoutcome.h"
#include "core/config/config.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QTimer>

#include <optional>

namespace cr {

class ComfyClient final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ComfyClient)

public:
    ComfyClient(const ComfySettings &settings, const QString &clientId, QObject *parent = nullptr);
    ~ComfyClient() override;

    void start();
    void stop();

    ComfyHttp *http() const { return m_http; }
    ComfyConnection *connection() const { return m_connection; }
    ConnectionState state() const { return m_connection->state(); }
    QString clientId() const { return m_connection->clientId(); }

    static QString newPromptId(); // uuid4, canonical lowercase, chosen here so early events are never lost
    // A prompt id as newer ComfyUIs accept it: the canonical lowercase UUID of any spelling QUuid reads
    // (braces, upper case); nullopt for anything else.
    static std::optional<QString> canonicalPromptId(const QString &id);
    // This ComfyUI advertised POST /api/jobs/{id}/cancel in its feature flags (renegotiated every connection):
    // cancel() and release() use it instead of /queue delete + /interrupt.
    bool supportsJobCancel() const { return m_jobCancel; }

    // Submits a prompt under a client-chosen id and tracks it until promptFinished. Events for it may arrive
    // before `done` runs. On failure (validation, unreachable) the prompt is not tracked.
    void submit(const QString &promptId, const QJsonObject &graph, ComfyHttp::Callback<SubmitAck> done);
    // Removes a pending prompt from ComfyUI's queue and interrupts it if it runs (targeted, never global).
    // The outcome arrives through promptFinished (Cancelled, or Interrupted when it was running).
    void cancel(const QString &promptId);
    // Follows a prompt submitted earlier (by a previous run of the service): it is reconciled through
    // /queue and /history once connected, then followed like any other. `foreign`: submitted by another
    // client (a runner of the cluster whose job this one took over), whose events never come here: polled
    // on every watchdog tick until it ends.
    void adopt(const QString &promptId, bool foreign = false);
    // Stops following a prompt without an outcome (the pool took it back to run it elsewhere): it is removed
    // from ComfyUI's queue and interrupted when ComfyUI can be reached; no promptFinished follows.
    void release(const QString &promptId);
    bool isTracked(const QString &promptId) const { return m_tracked.contains(promptId); }
    int trackedCount() const { return m_tracked.size(); }

signals:
    void stateChanged(cr::ConnectionState state);
    void eventReceived(const cr::protocol::ComfyEvent &event);
    void previewReceived(const cr::protocol::PreviewFrame &frame, const QByteArray &rawFrame);
    void otherBinaryReceived(const QByteArray &rawFrame);
    void promptFinished(const cr::PromptOutcome &outcome);

private:
    struct Tracked {
        QString clientId; // the WebSocket id it was submitted under
        bool acknowledged = false;
        bool finishing = false; // history read in progress
        bool cancelRequested = false;
        quint64 ackSerial = 0; // order of acknowledgement, to judge only prompts a /queue snapshot can know
        QElapsedTimer lastEvent;
        // The connection's continuity epoch at submission; 0 when its events cannot all have been seen
        // (adopted, submitted while disconnected, looked at by the watchdog).
        quint64 epoch = 0;
        PromptEvents events;
    };

    void onEvent(const protocol::ComfyEvent &event);
    // Dequeues or interrupts a prompt: POST /api/jobs/{id}/cancel when advertised, else /queue delete then a
    // targeted /interrupt (also when the route turns out to be missing); then `after`.
    void stopPrompt(const QString &promptId, std::function<void()> after);
    void onConnected(bool cleanResume);
    void readOutcome(const QString &promptId, int attempt, bool lostIfUnknown);
    void reconcile();
    void sendCancel(const QString &promptId);
    void checkStalled();
    void finish(PromptOutcome outcome);

    ComfySettings m_settings;
    ComfyHttp *m_http;
    ComfyConnection *m_connection;
    QHash<QString, Tracked> m_tracked;
    QTimer m_watchdog;
    // Time without any event for a tracked prompt after which it is reconciled through /queue and /history.
    static constexpr int kStallMs = 15000;
    // After `executing` null on an unbroken connection, how long the terminal event may still take (older
    // ComfyUI sends execution_success after it) before /history is asked instead.
    static constexpr int kTerminalGraceMs = 100;
    bool m_jobCancel = false; // advertised in this connection's feature flags
    bool m_reconciling = false;
    bool m_reconcileAgain = false;
    quint64 m_ackCounter = 0;
};

} // namespace cr
