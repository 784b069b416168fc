#pragma once
// The newest decoded preview (image and frame number) of the last few jobs that sent previews, so that the
// window can show it again when such a job is selected. Bounded: the job whose previews started first is
// evicted, its image and number together.

#include <QHash>
#include <QImage>
#include <QStringList>

namespace cr::monitor {

class PreviewFrameCache final
{
public:
    struct Frame {
        QImage image;
        quint64 number = 0;
    };

    explicit PreviewFrameCache(int maxJobs = 16) : m_maxJobs(qMax(1, maxJobs)) { }

    void insert(const QString &jobId, const QImage &image, quint64 number);
    const Frame *find(const QString &jobId) const; // null when not cached
    void clear();
    int size() const { return int(m_frames.size()); }

private:
    QHash<QString, Frame> m_frames;
    QStringList m_order; // job ids, oldest first
    int m_maxJobs;
};

} // namespace cr::monitor
