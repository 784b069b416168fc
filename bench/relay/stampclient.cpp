#include "bench/relay/stampclient.h"

#include "bench/common/benchwait.h"
#include "bench/relay/framestamp.h"

#include <QUrlQuery>

namespace cr::bench {

StampClient::StampClient(Target target, int index, QObject *parent) : QObject(parent), m_target(target), m_index(index)
{
    m_ws.setMaxAllowedIncomingMessageSize(64 * 1024 * 1024);
    connect(&m_ws, &QWebSocket::textMessageReceived, this, &StampClient::onText);
    connect(&m_ws, &QWebSocket::binaryMessageReceived, this, &StampClient::onBinary);
    connect(&m_ws, &QWebSocket::connected, this, [this] {
        if (m_target == Target::Relay)
            m_ws.sendTextMessage(QStringLiteral(R"({"type": "ping", "data": {"id": 1}})"));
    });
}

void StampClient::open(quint16 port, const QString &relayQuery)
{
    QUrl url(QStringLiteral("ws://127.0.0.1:%1/").arg(port));
    if (m_target == Target::Relay && !relayQuery.isEmpty())
        url.setQuery(relayQuery);
    if (m_target == Target::Direct) {
        url.setPath(QStringLiteral("/ws"));
        url.setQuery(QUrlQuery{{QStringLiteral("clientId"), QStringLiteral("bench-relay-direct-%1").arg(m_index)}});
    }
    m_ws.open(url);
}

void StampClient::close() { m_ws.close(); }

void StampClient::expect(quint32 burst, quint32 steps, Samples *textLatency, Samples *previewLatency)
{
    m_tally = BurstTally{};
    m_tally.burst = burst;
    m_tally.steps = steps;
    m_tally.textAt.assign(steps, 0);
    m_tally.previewAt.assign(steps, 0);
    m_textLatency = textLatency;
    m_previewLatency = previewLatency;
    m_highestText = 0;
}

bool StampClient::burstDone(qint64 nowNs, qint64 quietNs) const
{
    if (m_tally.endNs == 0)
        return false;
    return m_tally.previews >= m_tally.steps || nowNs - std::max(m_tally.lastNs, m_tally.endNs) > quietNs;
}

void StampClient::noteData(qint64 now, qint64 stampNs, qsizetype bytes)
{
    if (m_tally.firstStampNs == 0 || stampNs < m_tally.firstStampNs)
        m_tally.firstStampNs = stampNs;
    if (m_tally.firstNs == 0)
        m_tally.firstNs = now;
    m_tally.lastNs = now;
    m_tally.bytes += bytes;
}

void StampClient::onText(const QString &text)
{
    const qint64 now = monotonicNs(); // first, before any parsing
    if (const std::optional<FrameStamp> s = progressStamp(text)) {
        if (s->burst != m_tally.burst || s->seq >= m_tally.steps) {
            ++m_other;
            return;
        }
        if (m_tally.textAt[s->seq] != 0) {
            ++m_tally.duplicates;
            return;
        }
        m_tally.textAt[s->seq] = now;
        ++m_tally.texts;
        if (s->seq + 1 < m_highestText)
            ++m_tally.outOfOrder;
        m_highestText = std::max(m_highestText, s->seq + 1);
        noteData(now, s->ns, text.size());
        if (m_textLatency)
            m_textLatency->add(double(now - s->ns) / 1000.0);
        return;
    }
    if (const std::optional<quint32> end = burstEndOf(text)) {
        if (*end == m_tally.burst)
            m_tally.endNs = now;
        return;
    }
    if (!m_ready
        && ((m_target == Target::Direct && text.contains(QLatin1String("\"status\"")))
            || (m_target == Target::Relay && text.contains(QLatin1String("\"relay_pong\""))))) {
        m_ready = true;
        return;
    }
    ++m_other;
}

void StampClient::onBinary(const QByteArray &frame)
{
    const qint64 now = monotonicNs();
    const std::optional<FrameStamp> s = previewStamp(frame);
    if (!s || s->burst != m_tally.burst || s->seq >= m_tally.steps) {
        ++m_other;
        return;
    }
    if (m_tally.previewAt[s->seq] != 0) {
        ++m_tally.duplicates;
        return;
    }
    m_tally.previewAt[s->seq] = now;
    ++m_tally.previews;
    noteData(now, s->ns, frame.size());
    if (m_previewLatency)
        m_previewLatency->add(double(now - s->ns) / 1000.0);
}

} // namespace cr::bench
