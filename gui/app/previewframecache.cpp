#include "gui/app/previewframecache.h"

namespace cr::monitor {

void PreviewFrameCache::insert(const QString &jobId, const QImage &image, quint64 number)
{
    if (!m_frames.contains(jobId)) {
        m_order.append(jobId);
        while (m_order.size() > m_maxJobs)
            m_frames.remove(m_order.takeFirst());
    }
    m_frames.insert(jobId, Frame{image, number});
}

const PreviewFrameCache::Frame *PreviewFrameCache::find(const QString &jobId) const
{
    const auto it = m_frames.constFind(jobId);
    return it == m_frames.cend() ? nullptr : &*it;
}

void PreviewFrameCache::clear()
{
    m_frames.clear();
    m_order.clear();
}

} // namespace cr::monitor
