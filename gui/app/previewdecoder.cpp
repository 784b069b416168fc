#include "gui/app/previewdecoder.h"

#include "gui/app/theme.h"

#include <QMutexLocker>

namespace cr::monitor {

PreviewDecoder::PreviewDecoder(QObject *parent) : QObject(parent), m_worker(new QObject)
{
    m_thread.setObjectName(QStringLiteral("preview-decoder"));
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    m_thread.start();
}

PreviewDecoder::~PreviewDecoder()
{
    {
        QMutexLocker lock(&m_mutex);
        m_input.reset();
    }
    m_thread.quit();
    m_thread.wait();
}

void PreviewDecoder::submit(MonitorPreview frame)
{
    QMutexLocker lock(&m_mutex);
    ++m_submitted;
    if (m_input)
        ++m_skipped;
    m_input = std::move(frame);
    if (m_busy)
        return;
    m_busy = true;
    lock.unlock();
    QMetaObject::invokeMethod(
        m_worker, [this] { work(); }, Qt::QueuedConnection);
}

std::optional<DecodedPreview> PreviewDecoder::takeDecoded()
{
    QMutexLocker lock(&m_mutex);
    return std::exchange(m_output, std::nullopt);
}

quint64 PreviewDecoder::submitted() const
{
    QMutexLocker lock(&m_mutex);
    return m_submitted;
}

quint64 PreviewDecoder::decoded() const
{
    QMutexLocker lock(&m_mutex);
    return m_decoded;
}

quint64 PreviewDecoder::skipped() const
{
    QMutexLocker lock(&m_mutex);
    return m_skipped;
}

quint64 PreviewDecoder::failed() const
{
    QMutexLocker lock(&m_mutex);
    return m_failed;
}

void PreviewDecoder::work()
{
    for (;;) {
        QMutexLocker lock(&m_mutex);
        if (!m_input) {
            m_busy = false;
            return;
        }
        MonitorPreview frame = std::move(*m_input);
        m_input.reset();
        lock.unlock();

        const char *format = frame.frame.format == protocol::ImageFormat::Png ? "PNG" : "JPEG";
        QImage image = QImage::fromData(frame.frame.image, format);
        if (image.isNull())
            image = QImage::fromData(frame.frame.image); // trust the bytes over the header's format code
        if (!image.isNull())
            image.convertTo(QImage::Format_ARGB32_Premultiplied);

        lock.relock();
        if (image.isNull()) {
            ++m_failed;
            continue;
        }
        ++m_decoded;
        const bool announce = !m_output.has_value();
        if (!announce)
            ++m_skipped;
        m_output = DecodedPreview{std::move(image), frame.jobId,
                                  frame.frame.meta.displayNodeId.isEmpty() ? frame.frame.meta.nodeId
                                                                           : frame.frame.meta.displayNodeId,
                                  frame.number};
        lock.unlock();
        if (announce)
            QMetaObject::invokeMethod(
                this, [this] { emit decodedAvailable(); }, Qt::QueuedConnection);
    }
}

} // namespace cr::monitor
