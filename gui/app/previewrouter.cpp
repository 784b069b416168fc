#include "gui/app/previewrouter.h"

#include "gui/app/previewdecoder.h"
#include "gui/app/previewview.h"
#include "gui/client/relayclient.h"

namespace cr::monitor {

PreviewRouter::PreviewRouter(RelayClient *relay, PreviewDecoder *decoder, PreviewView *view, QObject *parent)
    : QObject(parent), m_relay(relay), m_decoder(decoder), m_view(view)
{
    connect(m_relay, &RelayClient::previewAvailable, this, &PreviewRouter::onPreviewAvailable);
    connect(m_decoder, &PreviewDecoder::decodedAvailable, this, &PreviewRouter::onDecoded);
}

void PreviewRouter::selectJob(const QString &jobId)
{
    m_selected = jobId;
    if (const PreviewFrameCache::Frame *cached = m_frames.find(jobId))
        m_view->setFrame(cached->image, jobId, cached->number);
    else
        m_view->clear(tr("Waiting for previews of job %1").arg(jobId.left(8)));
}

void PreviewRouter::clear()
{
    m_frames.clear();
    m_view->clear();
}

void PreviewRouter::onPreviewAvailable()
{
    std::optional<MonitorPreview> frame = m_relay->takePreview();
    if (!frame)
        return;
    if (!m_selected.isEmpty() && !frame->jobId.isEmpty() && frame->jobId != m_selected && !m_follow)
        return; // another job's frame while the user watches a chosen one
    if (!m_backend.isEmpty() && frame->backend != m_backend && (frame->jobId.isEmpty() || frame->jobId != m_selected))
        return; // another backend's frame while following one
    m_decoder->submit(std::move(*frame));
}

void PreviewRouter::onDecoded()
{
    std::optional<DecodedPreview> decoded = m_decoder->takeDecoded();
    if (!decoded)
        return;
    const QString job = decoded->jobId;
    if (!job.isEmpty())
        m_frames.insert(job, decoded->image, decoded->number);
    if (m_selected.isEmpty() || job.isEmpty() || job == m_selected)
        m_view->setFrame(decoded->image, job, decoded->number);
    emit frameDecoded();
}

} // namespace cr::monitor
