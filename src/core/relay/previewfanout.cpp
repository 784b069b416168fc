#include "core/relay/previewfanout.h"

#include "core/relay/relaysession.h"

namespace cr {

PreviewFanout::PreviewFanout(qint64 bytesPerTurn, std::function<void()> afterSlice, QObject *parent)
    : QObject(parent), m_bytesPerTurn(qMax<qint64>(1, bytesPerTurn)), m_afterSlice(std::move(afterSlice))
{ }

void PreviewFanout::start(const RelayEventPtr &preview, const QList<RelaySession *> &clients)
{
    // The older preview goes to whoever has not had it yet first: each client gets every preview in order
    // (unless its own backpressure drops one). This happens only when a fan-out takes a whole step.
    while (m_event && m_next < m_clients.size()) {
        if (RelaySession *client = m_clients.at(m_next++))
            client->deliver(m_event);
    }
    m_event = preview;
    m_clients.clear();
    m_clients.reserve(clients.size());
    for (RelaySession *client : clients)
        m_clients.append(client);
    m_next = 0;
    writeSlice();
}

void PreviewFanout::writeSlice()
{
    if (!m_event)
        return;
    const qint64 frameBytes = qMax<qint64>(1, m_event->previewFrame() ? m_event->previewFrame()->image.size() : 0);
    qint64 budget = m_bytesPerTurn;
    // At least one client per turn; a client that takes nothing (filtered, rate-limited) costs nothing.
    while (m_next < m_clients.size() && budget > 0) {
        RelaySession *client = m_clients.at(m_next++);
        if (client && client->deliver(m_event))
            budget -= frameBytes;
    }
    if (m_afterSlice)
        m_afterSlice();
    if (m_next >= m_clients.size()) {
        m_event.reset();
        m_clients.clear();
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
