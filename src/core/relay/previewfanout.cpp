#include "core/relay/previewfanout.h"

#include "core/relay/relaysession.h"

namespace cr {

PreviewFanout::PreviewFanout(qint64 bytesPerTurn, std::function<void()> afterSlice, QObject *parent)
    : QObject(parent), m_bytesPerTurn(qMax<qint64>(1, bytesPerTurn)), m_afterSlice(std::move(afterSlice))
{ }

bool PreviewFanout::deliverTo(Pending &pending)
{
    const bool wrote = pending.client && pending.client->deliver(m_event);
    for (const RelayEventPtr &event : std::as_const(pending.after))
        if (pending.client) // a client may leave while it is written to
            pending.client->deliver(event);
    m_held -= pending.after.size();
    pending.after.clear();
    return wrote;
}

void PreviewFanout::finishCurrent()
{
    while (m_event && m_next < m_clients.size())
        deliverTo(m_clients[m_next++]);
}

void PreviewFanout::start(const RelayEventPtr &preview, const QList<RelaySession *> &clients)
{
    // The older preview (and what waits behind it) goes to whoever has not had it yet first: each client gets
    // every frame in order. This happens only when a fan-out takes a whole step.
    finishCurrent();
    m_event = preview;
    m_clients.clear();
    m_clients.reserve(clients.size());
    m_index.clear();
    m_index.reserve(clients.size());
    for (RelaySession *client : clients) {
        m_index.insert(client, m_clients.size());
        m_clients.append(Pending{client, {}});
    }
    m_next = 0;
    writeSlice();
}

void PreviewFanout::deliverInOrder(const RelayEventPtr &event, QList<RelaySession *> clients)
{
    const bool busy = isBusy();
    for (RelaySession *client : clients) {
        if (busy) {
            const qsizetype at = m_index.value(client, -1);
            // Its copy of the preview is still to be written (the same session, not a new one at its address).
            if (at >= m_next && m_clients.at(at).client == client) {
                m_clients[at].after.append(event);
                ++m_held;
                continue;
            }
        }
        client->deliver(event);
    }
}

void PreviewFanout::writeSlice()
{
    if (!m_event)
        return;
    const qint64 frameBytes = qMax<qint64>(1, m_event->previewFrame() ? m_event->previewFrame()->image.size() : 0);
    qint64 budget = m_bytesPerTurn;
    // At least one client per turn; a client that takes nothing (filtered, rate-limited) costs nothing.
    while (m_next < m_clients.size() && budget > 0) {
        if (deliverTo(m_clients[m_next++]))
            budget -= frameBytes;
    }
    if (m_afterSlice)
        m_afterSlice();
    if (m_next >= m_clients.size()) {
        m_event.reset();
        m_clients.clear();
        m_index.clear();
        m_next = 0;
        return;
    }
    if (m_scheduled)
        return;
    m_scheduled = true;
    QMetaObject::invokeMethod(
        this,
        [this] {
            m_scheduled = false;
            writeSlice();
        },
        Qt::QueuedConnection);
}

} // namespace cr
