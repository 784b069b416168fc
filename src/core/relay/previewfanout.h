#pragma once
// Writes one preview to the relay's clients a slice at a time: as many clients as fit in a byte budget now,
// the rest in later turns of the event loop, so that JSON events read from ComfyUI meanwhile (and HTTP
// answers) do not wait behind megabytes of image copies (100 clients x 185 KB is 18.5 MB per step). JSON
// events are delivered at once to every client, so a client late in the slice order may get a progress event
// before the preview ComfyUI sent just before it, as a client that is behind already does (its held-back
// preview); JSON events keep their order among themselves, previews theirs: a newer preview first finishes
// the older one's fan-out (nothing is dropped here; RelaySession's backpressure still drops for slow clients).

#include "core/relay/relayevent.h"

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

private:
    void writeSlice();

    qint64 m_bytesPerTurn;
    std::function<void()> m_afterSlice;
    RelayEventPtr m_event;
    QList<QPointer<RelaySession>> m_clients;
    qsizetype m_next = 0;
    bool m_scheduled = false;
};

} // namespace cr
