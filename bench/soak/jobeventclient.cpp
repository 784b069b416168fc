#include "bench/soak/jobeventclient.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QUrl>

namespace cr::bench {

JobEventClient::JobEventClient(int index, QObject *parent) : QObject(parent), m_index(index)
{
    connect(&m_ws, &QWebSocket::textMessageReceived, this, &JobEventClient::onText);
    connect(&m_ws, &QWebSocket::connected, this,
            [this] { m_ws.sendTextMessage(QStringLiteral(R"({"type":"ping","data":{"id":"ready"}})")); });
    connect(&m_ws, &QWebSocket::disconnected, this, [this] {
        if (m_closeCode == 0)
            m_closeCode = m_ws.closeCode() == QWebSocketProtocol::CloseCodeNormal ? 0 : int(m_ws.closeCode());
    });
}

void JobEventClient::open(quint16 relayPort)
{
    m_ws.open(
        QUrl(QStringLiteral("ws://127.0.0.1:%1/?envelope=1&previews=off&bench=soak-%2").arg(relayPort).arg(m_index)));
}

void JobEventClient::close() { m_ws.close(); }

void JobEventClient::onText(const QString &text)
{
    const QJsonObject o = QJsonDocument::fromJson(text.toUtf8()).object();
    const QString type = o.value(QStringLiteral("type")).toString();
    if (type == u"relay_pong") {
        m_ready = true;
        return;
    }
    if (type == u"relay_gap") {
        ++m_gaps;
        return;
    }
    if (type.startsWith(u"relay_"))
        return;
    const qint64 seq = qint64(o.value(QStringLiteral("seq")).toDouble());
    if (m_firstSeq == 0)
        m_firstSeq = seq;
    else if (seq != m_lastSeq + 1)
        m_seqHoles += seq > m_lastSeq ? seq - m_lastSeq - 1 : 1; // a hole, or one out of order
    m_lastSeq = seq;
    ++m_events;
    const QString jobId = o.value(QStringLiteral("job_id")).toString();
    if (jobId.isEmpty())
        return; // ComfyUI's status broadcasts and the like
    JobTally &t = m_jobs[jobId];
    ++t.events;
    if (type == u"job_queued") {
        ++t.queued;
    } else if (type == u"job_started") {
        ++t.started;
    } else if (type == u"job_progress") {
        ++t.progress;
    } else if (type == u"job_finished") {
        ++t.finished;
        ++m_finished;
    } else if (type == u"job_failed" || type == u"job_cancelled") {
        ++t.failed;
        ++m_finished;
    } else if (type == u"image_generated") {
        ++t.images;
    }
}

} // namespace cr::bench
