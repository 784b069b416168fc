#include "bench/relay/sim/burstemitter.h"

#include "bench/common/benchwait.h"
#include "bench/relay/framestamp.h"
#include "sim/capture.h"
#include "sim/fakecomfy.h"
#include "sim/fakeimages.h"

#include <QJsonObject>
#include <QUuid>
#include <QWebSocket>

namespace cr::bench {

BurstEmitter::BurstEmitter(cr::sim::FakeComfy *comfy, QObject *parent) : QObject(parent), m_comfy(comfy)
{
    m_timer.setTimerType(Qt::PreciseTimer);
    connect(&m_timer, &QTimer::timeout, this, &BurstEmitter::pump);
}

bool BurstEmitter::start(quint32 burst, quint32 steps, qint64 intervalUs, int previewPx)
{
    if (m_running || steps == 0)
        return false;
    m_running = true;
    m_burst = burst;
    m_steps = steps;
    m_sent = 0;
    m_bytes = 0;
    m_intervalNs = std::max<qint64>(0, intervalUs) * 1000;
    m_promptId = QUuid::createUuid().toString(QUuid::WithoutBraces);
    m_jpeg = sim::fakeimages::jpeg(sim::fakeimages::render(QSize(previewPx, previewPx), burst, 0.5), 95);
    // The fake owns its accepted sockets: every open one gets the frames (FakeComfy::replayCapture's targets).
    m_sockets.clear();
    for (QWebSocket *ws : m_comfy->findChildren<QWebSocket *>()) {
        if (ws->state() == QAbstractSocket::ConnectedState)
            m_sockets.append(ws);
    }
    for (const QPointer<QWebSocket> &ws : std::as_const(m_sockets))
        m_drains.append(connect(ws, &QWebSocket::bytesWritten, this, &BurstEmitter::pump));
    // Flat out: one pass now, then on every drain. Paced: a tick per interval (at least every millisecond),
    // each sending the steps that are due by then.
    m_clock.start();
    m_timer.setSingleShot(m_intervalNs == 0);
    m_timer.start(m_intervalNs == 0 ? 0 : int(std::clamp<qint64>(m_intervalNs / 1'000'000, 1, 60'000)));
    return true;
}

int BurstEmitter::openSockets() const
{
    int n = 0;
    for (QWebSocket *ws : m_comfy->findChildren<QWebSocket *>())
        n += ws->state() == QAbstractSocket::ConnectedState ? 1 : 0;
    return n;
}

bool BurstEmitter::canSend() const
{
    for (const QPointer<QWebSocket> &ws : m_sockets) {
        if (ws && ws->state() == QAbstractSocket::ConnectedState && ws->bytesToWrite() > kHighWater)
            return false;
    }
    return true;
}

void BurstEmitter::pump()
{
    const qint64 elapsed = m_clock.nsecsElapsed();
    while (m_running && canSend() && (m_intervalNs == 0 || qint64(m_sent) * m_intervalNs <= elapsed))
        step();
}

void BurstEmitter::sendText(const QByteArray &text)
{
    sim::CaptureRecord record;
    record.dir = QStringLiteral("ws_in");
    record.kind = QStringLiteral("text");
    record.text = text;
    m_comfy->replayCapture(sim::Capture{QString(), {record}});
}

void BurstEmitter::sendBinary(const QByteArray &frame)
{
    sim::CaptureRecord record;
    record.dir = QStringLiteral("ws_in");
    record.kind = QStringLiteral("binary");
    record.binary = frame;
    record.line = QJsonObject{{QStringLiteral("event"), 1}};
    m_comfy->replayCapture(sim::Capture{QString(), {record}});
}

void BurstEmitter::step()
{
    if (!m_running)
        return;
    FrameStamp stamp{m_burst, m_sent, monotonicNs()};
    const QByteArray text = stampedProgress(stamp, m_steps, m_promptId);
    sendText(text);
    stamp.ns = monotonicNs();
    const QByteArray preview = stampedPreview(m_jpeg, stamp);
    sendBinary(preview);
    m_bytes += text.size() + preview.size();
    if (++m_sent >= m_steps)
        finish();
}

void BurstEmitter::finish()
{
    const qint64 elapsedUs = m_clock.nsecsElapsed() / 1000;
    m_timer.stop();
    for (const QMetaObject::Connection &c : std::as_const(m_drains))
        disconnect(c);
    m_drains.clear();
    m_running = false;
    sendText(burstEnd(m_burst, m_steps));
    emit finished(m_burst, m_steps, elapsedUs, m_bytes);
}

} // namespace cr::bench
