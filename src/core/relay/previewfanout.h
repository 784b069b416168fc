#pragma once
// Writes one preview to the relay's clients a slice at a time: as many clients as fit in a byte budget now,
// the rest in later turns of the event loop, so that HTTP answers and the JSON events of clients already
// served do not wait behind megabytes of image copies (100 clients x 185 KB is 18.5 MB per step). Every
// client still gets every frame in the order ComfyUI sent it: a JSON event published while a client's copy
// of the preview is still to be written waits for that copy (deliverInOrder) and follows it at once; a newer
// preview first finishes the older one's fan-out. Nothing is dropped here (RelaySession's backpressure still
// drops previews for slow clients).

#include "core/relay/relayevent.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <QPointer>

#include <functional>

namespace cr {

class RelaySession;

class PreviewFanout final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(PreviewFanout)

public:
    // `afterSlice` runs after every slice (the relay's total backlog budget).
    PreviewFanout(qint64 bytesPerTurn, std::function<void()> afterSlice, QObject *parent = nullptr);

    void setBytesPerTurn(qint64 bytes) { m_bytesPerTurn = qMax<qint64>(1, bytes); }
    // Starts fanning `preview` out to `clients` (in that order); the first slice is written before it returns.
    void start(const RelayEventPtr &preview, const QList<RelaySession *> &clients);
    bool isBusy() const { return m_event && m_next < m_clients.size(); }
    // Delivers a JSON event to `clients`: at once to those that have the current preview (or are not part of
    // its fan-out), right after their copy of the preview to those still waiting for it.
    void deliverInOrder(const RelayEventPtr &event, QList<RelaySession *> clients); // a copy: clients may leave
    qsizetype heldEvents() const { return m_held; } // JSON events waiting behind a preview copy now

private:
    struct Pending {
        QPointer<RelaySession> client;
        QList<RelayEventPtr> after; // published while its preview copy was still to be written
    };
    void writeSlice();
    bool deliverTo(Pending &pending); // the preview (true when written), then what waited for it
    void finishCurrent();

    qint64 m_bytesPerTurn;
    std::function<void()> m_afterSlice;
    RelayEventPtr m_event;
    QList<Pending> m_clients;
    QHash<const RelaySession *, qsizetype> m_index; // client -> its place in m_clients
    qsizetype m_next = 0;
    qsizetype m_held = 0;
    bool m_scheduled = false;
};

} // namespace cr
