#include "core/comfy/comfyclient.h"

#include <QLoggingCategory>
#include <QUuid>

Q_LOGGING_CATEGORY(lcComfy, "comfyrunner.comfy")

namespace cr {

namespace {
constexpr int kHistoryAttempts = 4;
}

ComfyClient::ComfyClient(const ComfySettings &settings, const QString &clientId, QObject *parent)
    : QObject(parent), m_settings(settings), m_http(new ComfyHttp(settings.url, settings.requestTimeoutMs, this)),
      m_connection(new ComfyConnection(
          {settings.url, clientId, settings.pingIntervalMs, settings.pingTimeoutMs, 100, settings.reconnectMaxMs},
          this))
{
    qRegisterMetaType<cr::PromptOutcome>();
    connect(m_connection, &ComfyConnection::stateChanged, this, &ComfyClient::stateChanged);
    connect(m_connection, &ComfyConnection::connected, this, &ComfyClient::onConnected);
    connect(m_connection, &ComfyConnection::eventReceived, this, &ComfyClient::onEvent);
    connect(m_connection, &ComfyConnection::previewReceived, this,
            [this](const protocol::PreviewFrame &f, const QByteArray &raw) {
                if (auto it = m_tracked.find(f.meta.promptId); it != m_tracked.end())
                    it->lastEvent.start();
                emit previewReceived(f, raw);
            });
    connect(m_connection, &ComfyConnection::otherBinaryReceived, this, &ComfyClient::otherBinaryReceived);
    m_watchdog.setInterval(qMax(250, qMin(kStallMs, settings.pingIntervalMs)));
    connect(&m_watchdog, &QTimer::timeout, this, &ComfyClient::checkStalled);
}

ComfyClient::~ComfyClient() = default;

void ComfyClient::start() { m_connection->start(); }

void ComfyClient::stop()
{
    m_watchdog.stop();
    m_connection->stop();
}

QString ComfyClient::newPromptId() { return QUuid::createUuid().toString(QUuid::WithoutBraces); }

std::optional<QString> ComfyClient::canonicalPromptId(const QString &id)
{
    const QUuid uuid = QUuid::fromString(id.trimmed());
    if (uuid.isNull())
        return std::nullopt;
    return uuid.toString(QUuid::WithoutBraces); // lowercase, hyphenated
}

void ComfyClient::submit(const QString &promptId, const QJsonObject &graph, ComfyHttp::Callback<SubmitAck> done)
{
    Tracked t;
    t.clientId = m_connection->clientId();
    t.lastEvent.start();
    t.epoch = m_connection->continuityEpoch();
    m_tracked.insert(promptId, t);
    const QJsonObject extra{{QStringLiteral("preview_method"), m_settings.previewMethod}};
    m_http->submitPrompt(promptId, graph, t.clientId, extra, [this, promptId, done](Result<SubmitAck> r) {
        auto it = m_tracked.find(promptId);
        if (!r) {
            m_tracked.remove(promptId);
            done(r);
            return;
        }
        const bool cancelNow = it != m_tracked.end() && it->cancelRequested;
        if (it != m_tracked.end()) {
            it->acknowledged = true;
            it->ackSerial = ++m_ackCounter;
            it->lastEvent.start();
            if (!m_watchdog.isActive())
                m_watchdog.start();
        }
        done(r);
        if (cancelNow) // a cancel that came while ComfyUI was still validating the prompt
            sendCancel(promptId);
    });
}

void ComfyClient::adopt(const QString &promptId, bool foreign)
{
    if (m_tracked.contains(promptId))
        return;
    Tracked t;
    t.clientId = foreign ? QStringLiteral("(another client)") : m_connection->clientId();
    t.acknowledged = true;
    t.ackSerial = ++m_ackCounter;
    t.lastEvent.start();
    m_tracked.insert(promptId, t);
    if (!m_watchdog.isActive())
        m_watchdog.start();
    if (m_connection->state() == ConnectionState::Connected)
        reconcile();
}

void ComfyClient::cancel(const QString &promptId)
{
    auto it = m_tracked.find(promptId);
    if (it == m_tracked.end())
        return;
    it->cancelRequested = true;
    // Before ComfyUI answered the submission, a delete could arrive before the prompt is queued: wait for
    // the answer (submit() sends the cancel then).
    if (it->acknowledged)
        sendCancel(promptId);
}

void ComfyClient::release(const QString &promptId)
{
    if (!m_tracked.remove(promptId))
        return;
    stopPrompt(promptId, [] {});
}

void ComfyClient::stopPrompt(const QString &promptId, std::function<void()> after)
{
    auto legacy = [this, promptId, after] {
        // Delete if pending, interrupt if running: both are no-ops for the other case, and neither touches
        // anybody else's work.
        m_http->deleteFromQueue({promptId}, [this, promptId, after](Status err) {
            if (err)
                qCWarning(lcComfy).noquote()
                    << "could not remove" << promptId << "from ComfyUI's queue:" << err->message;
            m_http->interrupt(promptId, [promptId, after](Status err2) {
                if (err2)
                    qCWarning(lcComfy).noquote() << "could not interrupt" << promptId << ":" << err2->message;
                after();
            });
        });
    };
    if (!m_jobCancel)
        return legacy();
    m_http->cancelJob(promptId, [this, promptId, after, legacy](Status err, bool supported) {
        if (!supported) { // advertised, yet not there: the old way from now on (until the next connection)
            qCWarning(lcComfy).noquote() << "ComfyUI has no POST /api/jobs/{id}/cancel after all; using /queue and"
                                         << "/interrupt";
            m_jobCancel = false;
            return legacy();
        }
        if (err)
            qCWarning(lcComfy).noquote() << "could not cancel" << promptId << ":" << err->message;
        after();
    });
}

void ComfyClient::sendCancel(const QString &promptId)
{
    stopPrompt(promptId, [this, promptId] {
        // A prompt removed while pending never sends events: find out now.
        if (m_tracked.contains(promptId) && !m_tracked.value(promptId).finishing)
            reconcile();
    });
}

void ComfyClient::onEvent(const protocol::ComfyEvent &event)
{
    if (const auto *flags = event.as<protocol::FeatureFlagsEvent>()) {
        if (flags->supportsJobCancel != m_jobCancel)
            qCInfo(lcComfy) << "ComfyUI" << (flags->supportsJobCancel ? "offers" : "does not offer")
                            << "POST /api/jobs/{id}/cancel";
        m_jobCancel = flags->supportsJobCancel;
    }
    if (!event.promptId.isEmpty()) {
        auto it = m_tracked.find(event.promptId);
        if (it != m_tracked.end()) {
            it->lastEvent.start();
            const bool unbroken = it->epoch != 0 && it->epoch == m_connection->continuityEpoch();
            const bool ended = it->events.add(event);
            const auto *ex = event.as<protocol::ExecutingEvent>();
            if (ended && unbroken) {
                // Every event of the prompt arrived: its outcome is final now, no /history round trip. The
                // frame is relayed first, so listeners see ComfyUI's last frame before the job's end.
                const std::optional<PromptOutcome> o = it->events.outcome(event.promptId);
                emit eventReceived(event);
                finish(*o);
                return;
            }
            if (ex && ex->finished && !it->finishing) {
                if (unbroken) {
                    it->finishing = true; // the terminal event should still follow (older ComfyUI's order)
                    const QString id = event.promptId;
                    QTimer::singleShot(kTerminalGraceMs, this, [this, id] { readOutcome(id, 0, false); });
                } else {
                    readOutcome(event.promptId, 0, false);
                }
            }
        }
    }
    emit eventReceived(event);
}

void ComfyClient::onConnected(bool cleanResume)
{
    m_jobCancel = false; // until this connection's feature flags say otherwise
    if (!m_tracked.isEmpty()) {
        qCInfo(lcComfy) << "reconnected with" << m_tracked.size() << "prompt(s) in flight; reconciling"
                        << (cleanResume ? "" : "(previous connection dropped uncleanly)");
        reconcile();
    }
}

void ComfyClient::readOutcome(const QString &promptId, int attempt, bool lostIfUnknown)
{
    auto it = m_tracked.find(promptId);
    if (it == m_tracked.end())
        return;
    it->finishing = true;
    m_http->history(promptId, [this, promptId, attempt, lostIfUnknown](Result<QJsonObject> r) {
        auto it = m_tracked.find(promptId);
        if (it == m_tracked.end())
            return;
        if (r) {
            if (std::optional<PromptOutcome> o = PromptOutcome::fromHistory(promptId, *r)) {
                finish(*o);
                return;
            }
            if (lostIfUnknown) {
                PromptOutcome lost;
                lost.promptId = promptId;
                lost.status = it->cancelRequested ? PromptOutcome::Status::Cancelled : PromptOutcome::Status::Lost;
                lost.reason = it->cancelRequested
                    ? QStringLiteral("removed from ComfyUI's queue before it ran")
                    : QStringLiteral(
                        "ComfyUI does not know this prompt any more (restarted, or removed by someone else)");
                finish(lost);
                return;
            }
        }
        if (!r && attempt + 1 >= kHistoryAttempts) {
            // ComfyUI did not answer: that says nothing about the prompt. Leave it to the watchdog or the
            // next reconnect to ask again.
            qCWarning(lcComfy).noquote() << "cannot read the result of" << promptId << "yet:" << r.error().message;
            it->finishing = false;
            it->lastEvent.invalidate();
            return;
        }
        if (attempt + 1 >= kHistoryAttempts) {
            PromptOutcome lost;
            lost.promptId = promptId;
            lost.status = PromptOutcome::Status::Lost;
            lost.reason = QStringLiteral("ComfyUI reported the prompt finished but has no history entry for it");
            finish(lost);
            return;
        }
        // Retry with backoff (history is written before `executing null`, so this is the abnormal path).
        QTimer::singleShot(100 << attempt, this, [this, promptId, attempt, lostIfUnknown] {
            readOutcome(promptId, attempt + 1, lostIfUnknown);
        });
    });
}

void ComfyClient::reconcile()
{
    if (m_reconciling) {
        m_reconcileAgain = true; // the snapshot in flight may predate what prompted this call
        return;
    }
    m_reconciling = true;
    // Only prompts acknowledged before the snapshot is taken can be judged by it.
    const quint64 horizon = m_ackCounter;
    m_http->queue([this, horizon](Result<QueueSnapshot> r) {
        m_reconciling = false;
        if (r) {
            const QStringList ids = m_tracked.keys();
            for (const QString &id : ids) {
                auto it = m_tracked.find(id);
                if (it == m_tracked.end() || !it->acknowledged || it->finishing || it->ackSerial > horizon)
                    continue;
                if (r->contains(id)) {
                    it->lastEvent.start(); // alive in ComfyUI's queue: keep waiting for its events
                    continue;
                }
                readOutcome(id, 0, true);
            }
        } else {
            qCDebug(lcComfy) << "reconcile: queue unavailable:" << r.error().message; // the watchdog retries
        }
        if (std::exchange(m_reconcileAgain, false))
            reconcile();
    });
}

void ComfyClient::checkStalled()
{
    if (m_tracked.isEmpty()) {
        m_watchdog.stop();
        return;
    }
    const QString current = m_connection->clientId();
    bool stalled = false;
    for (auto it = m_tracked.begin(); it != m_tracked.end(); ++it) {
        if (!it->acknowledged || it->finishing)
            continue;
        // Prompts submitted under an earlier client id get no more events: poll them; others only when silent.
        const bool orphaned = it->clientId != current;
        const bool silent = !it->lastEvent.isValid() || it->lastEvent.elapsed() > kStallMs;
        if (silent)
            it->epoch = 0; // the watchdog had to look: its outcome is read from /history from now on
        stalled = stalled || orphaned || silent || m_connection->state() != ConnectionState::Connected;
    }
    if (stalled)
        reconcile();
}

void ComfyClient::finish(PromptOutcome outcome)
{
    if (!m_tracked.remove(outcome.promptId))
        return;
    qCInfo(lcComfy).noquote() << "prompt" << outcome.promptId << promptStatusName(outcome.status)
                              << (outcome.reason.isEmpty() ? QString() : QStringLiteral("(%1)").arg(outcome.reason));
    emit promptFinished(outcome);
}

} // namespace cr
