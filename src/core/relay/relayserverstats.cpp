// RelayServer's figures for /api/v1/system and the metrics: the sent counters summed over the clients (live and
// gone), the per-client statistics and the "relay" object. Kept apart from the connection handling.
#include "core/relay/relayserver.h"

#include <QJsonArray>

namespace cr {

using namespace Qt::StringLiterals;
using protocol::RelayCloseCode;

void RelayTotals::add(const RelaySessionStats &s)
{
    messagesSent += s.messagesSent;
    previewsSent += s.previewsSent;
    binarySent += s.binarySent;
    bytesSent += s.bytesSent;
    previewsDropped += s.previewsDropped;
    previewsRateLimited += s.previewsRateLimited;
}

RelayTotals RelayServer::totals() const
{
    RelayTotals t = m_finished;
    for (const RelaySession *client : m_clients)
        t.add(client->stats());
    t.rejected = m_rejected;
    t.closed = m_closed;
    t.closedOverBudget = m_closedOverBudget;
    return t;
}

QList<RelaySessionStats> RelayServer::clientStats() const
{
    QList<RelaySessionStats> out;
    out.reserve(m_clients.size());
    for (const RelaySession *client : m_clients)
        out.append(client->stats());
    return out;
}

QJsonObject RelayServer::statsJson() const
{
    QJsonArray perClient;
    qint64 totalBacklog = 0;
    for (const RelaySession *client : m_clients) {
        perClient.append(client->stats().toJson());
        totalBacklog += client->isClosing() ? 0 : client->backlogBytes();
    }
    auto count = [](const QHash<quint16, quint64> &h, RelayCloseCode code) { return double(h.value(quint16(code))); };
    return QJsonObject{
        {"listening"_L1, isListening()},
        {"port"_L1, port()},
        {"clients"_L1, clientCount()},
        {"handshaking"_L1, pendingHandshakes()},
        {"max_clients"_L1, m_settings.maxClients},
        {"rejected"_L1,
         QJsonObject{{"unauthorized"_L1, count(m_rejected, RelayCloseCode::Unauthorized)},
                     {"bad_request"_L1, count(m_rejected, RelayCloseCode::BadRequest)},
                     {"too_many_clients"_L1, count(m_rejected, RelayCloseCode::TooManyClients)}}},
        {"closed"_L1,
         QJsonObject{{"too_slow"_L1, count(m_closed, RelayCloseCode::TooSlow)},
                     {"over_budget"_L1, double(m_closedOverBudget)},
                     {"ping_timeout"_L1, count(m_closed, RelayCloseCode::PingTimeout)},
                     {"too_many_errors"_L1, count(m_closed, RelayCloseCode::TooManyErrors)}}},
        {"backlog_bytes"_L1, double(totalBacklog)},
        {"backlog_budget_bytes"_L1, double(m_settings.totalBacklogBytes)},
        {"per_client"_L1, perClient},
    };
}

} // namespace cr
