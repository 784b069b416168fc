#pragma once
// Sends bursts of stamped frames (bench/relay/framestamp.h) from the fake ComfyUI to every WebSocket connected
// to it (its clients and comfy-runner alike, as ComfyUI broadcasts the events of a prompt without client_id):
// per step a `progress` event then a type-1 preview, step k due k * interval after the start, or flat out.
// Either way no step is sent while any socket has more than kHighWater bytes waiting (as aiohttp's drain
// would block ComfyUI), so flat out means as fast as the slowest socket drains.

#include <QByteArray>
#include <QElapsedTimer>
#include <QList>
#include <QMetaObject>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QTimer>

class QWebSocket;

namespace cr::sim {
class FakeComfy;
}

namespace cr::bench {

class BurstEmitter final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(BurstEmitter)

public:
    static constexpr qint64 kHighWater = 1024 * 1024;

    explicit BurstEmitter(cr::sim::FakeComfy *comfy, QObject *parent = nullptr);

    // intervalUs 0 = flat out. previewPx: long edge of the JPEG preview. False while a burst runs.
    bool start(quint32 burst, quint32 steps, qint64 intervalUs, int previewPx);
    bool isRunning() const { return m_running; }
    int openSockets() const; // WebSockets connected to the fake (comfy-runner's included)

signals:
    // The last frame was handed to the sockets `elapsedUs` after the first one.
    void finished(quint32 burst, quint32 steps, qint64 elapsedUs, qint64 bytesPerClient);

private:
    void step();
    void pump(); // sends the steps that are due and allowed
    bool canSend() const;
    void sendText(const QByteArray &text);
    void sendBinary(const QByteArray &frame);
    void finish();

    cr::sim::FakeComfy *m_comfy;
    QTimer m_timer;
    QList<QPointer<QWebSocket>> m_sockets;
    QList<QMetaObject::Connection> m_drains;
    QByteArray m_jpeg;
    QString m_promptId;
    quint32 m_burst = 0;
    quint32 m_steps = 0;
    quint32 m_sent = 0;
    qint64 m_bytes = 0;
    qint64 m_intervalNs = 0;
    bool m_running = false;
    QElapsedTimer m_clock;
};

} // namespace cr::bench
