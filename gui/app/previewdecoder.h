#pragma once
// Decodes preview frames (JPEG/PNG) on a worker thread so the window stays responsive at 30+ fps.
// Nothing queues: one frame waits for the worker (a newer one replaces it) and one decoded image waits for
// the window (a newer one replaces it too). The window is told once per newly waiting image.

#include "gui/client/relayclient.h"

#include <QImage>
#include <QMutex>
#include <QObject>
#include <QThread>

#include <optional>

namespace cr::monitor {

struct DecodedPreview {
    QImage image; // ARGB32 premultiplied, ready to paint
    QString jobId;
    QString nodeId;
    quint64 number = 0; // the frame's number on the relay client
};

class PreviewDecoder final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(PreviewDecoder)

public:
    explicit PreviewDecoder(QObject *parent = nullptr);
    ~PreviewDecoder() override; // stops and joins the worker

    // Hands a frame to the worker; a frame still waiting is replaced (counted as skipped).
    void submit(MonitorPreview frame);
    // The newest decoded image not taken yet.
    std::optional<DecodedPreview> takeDecoded();

    quint64 submitted() const;
    quint64 decoded() const;
    quint64 skipped() const; // replaced before the worker got to them, or decoded but never taken
    quint64 failed() const;  // not a readable image

signals:
    void decodedAvailable(); // emitted (on the owner's thread) when an image starts waiting

private:
    void work(); // on the worker thread

    mutable QMutex m_mutex;
    std::optional<MonitorPreview> m_input;
    std::optional<DecodedPreview> m_output;
    bool m_busy = false;
    quint64 m_submitted = 0;
    quint64 m_decoded = 0;
    quint64 m_skipped = 0;
    quint64 m_failed = 0;
    QThread m_thread;
    QObject *m_worker; // lives on m_thread; the context of queued work
};

} // namespace cr::monitor
