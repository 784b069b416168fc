#include "gui/client/backendlistmodel.h"

#include "gui/client/jobtracker.h"

namespace cr::monitor {

using namespace Qt::StringLiterals;

BackendListModel::BackendListModel(JobTracker *tracker, QObject *parent)
    : QAbstractTableModel(parent), m_tracker(tracker)
{
    if (m_tracker) {
        connect(m_tracker, &JobTracker::jobChanged, this, &BackendListModel::onJobChanged);
        connect(m_tracker, &JobTracker::jobAdded, this, &BackendListModel::onJobChanged);
        connect(m_tracker, &JobTracker::jobRemoved, this, &BackendListModel::onJobChanged);
    }
}

int BackendListModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_backends.size());
}

int BackendListModel::columnCount(const QModelIndex &parent) const { return parent.isValid() ? 0 : ColumnCount; }

QStringList BackendListModel::names() const
{
    QStringList out;
    for (const auto &b : m_backends)
        out << b.name;
    return out;
}

int BackendListModel::rowOf(const QString &name) const
{
    for (int i = 0; i < m_backends.size(); ++i)
        if (m_backends.at(i).name == name)
            return i;
    return -1;
}

void BackendListModel::setBackends(const QList<protocol::BackendStatus> &backends)
{
    if (names() != [&] {
            QStringList n;
            for (const auto &b : backends)
                n << b.name;
            return n;
        }()) {
        beginResetModel();
        m_backends = backends;
        endResetModel();
        return;
    }
    for (int i = 0; i < backends.size(); ++i) {
        if (backends.at(i) == m_backends.at(i))
            continue;
        m_backends[i] = backends.at(i);
        emit dataChanged(index(i, 0), index(i, ColumnCount - 1));
    }
}

QString BackendListModel::currentJob(const QString &backend) const
{
    if (!m_tracker)
        return {};
    QString queued;
    for (const QString &id : m_tracker->jobIds()) { // newest first
        const JobView *job = m_tracker->job(id);
        if (!job || job->info.backend != backend)
            continue;
        if (job->info.state == JobState::Running)
            return id;
        if (job->info.state == JobState::Queued && queued.isEmpty())
            queued = id;
    }
    return queued;
}

void BackendListModel::onJobChanged(const QString &jobId)
{
    const JobView *job = m_tracker->job(jobId);
    const int row = job ? rowOf(job->info.backend) : -1;
    if (row >= 0)
        emit dataChanged(index(row, JobColumn), index(row, JobColumn));
    else if (!job && !m_backends.isEmpty()) // removed: whichever row showed it
        emit dataChanged(index(0, JobColumn), index(int(m_backends.size()) - 1, JobColumn));
}

QString BackendListModel::formatBytes(qint64 bytes)
{
    if (bytes < 0)
        return u"—"_s;
    constexpr double kMiB = 1024.0 * 1024.0;
    if (bytes < 1024ll * 1024 * 1024)
        return u"%1 MiB"_s.arg(double(bytes) / kMiB, 0, 'f', 0);
    return u"%1 GiB"_s.arg(double(bytes) / (kMiB * 1024.0), 0, 'f', 1);
}

QVariant BackendListModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_backends.size())
        return {};
    const protocol::BackendStatus &b = m_backends.at(index.row());
    const QString jobId
        = (role == Qt::DisplayRole && index.column() == JobColumn) || role == JobIdRole || role == ProgressRole
        ? currentJob(b.name)
        : QString();
    const JobView *job = jobId.isEmpty() || !m_tracker ? nullptr : m_tracker->job(jobId);
    switch (role) {
    case NameRole:
        return b.name;
    case StateRole:
        return b.state;
    case JobIdRole:
        return jobId;
    case ProgressRole:
        return job && job->info.state == JobState::Running ? job->overallFraction() : -1.0;
    case DrainingRole:
        return b.draining;
    case Qt::ToolTipRole:
        if (index.column() == StateColumn && !b.lastError.isEmpty())
            return b.lastError;
        if (index.column() == NameColumn)
            return b.tags.isEmpty() ? b.url : u"%1\ntags: %2"_s.arg(b.url, b.tags.join(u", "_s));
        if (index.column() == GpuColumn && b.gpu)
            return b.gpu->name;
        return {};
    case Qt::DisplayRole:
        break;
    default:
        return {};
    }
    switch (index.column()) {
    case NameColumn:
        return b.name;
    case StateColumn:
        return b.since.isValid() ? u"%1 since %2"_s.arg(b.state, b.since.toLocalTime().toString(u"HH:mm:ss"_s))
                                 : b.state;
    case JobColumn:
        if (!job)
            return u"idle"_s;
        if (job->info.state == JobState::Running)
            return u"%1 %2 %"_s.arg(jobId.left(8)).arg(qRound(job->overallFraction() * 100));
        return u"%1 queued"_s.arg(jobId.left(8));
    case QueueColumn: {
        const QString handed
            = b.maxInFlight >= 0 ? u"%1/%2"_s.arg(b.inFlight).arg(b.maxInFlight) : QString::number(b.inFlight);
        return u"%1 · %2 at ComfyUI"_s.arg(handed).arg(b.queueLength);
    }
    case ModelColumn:
        return b.lastCheckpoint.isEmpty() ? u"—"_s : b.lastCheckpoint;
    case GpuColumn:
        if (!b.gpu)
            return u"—"_s;
        if (b.gpu->vramTotal < 0)
            return b.gpu->name;
        return u"%1 · %2 of %3 used"_s.arg(b.gpu->name,
                                           formatBytes(b.gpu->vramTotal - qMax<qint64>(0, b.gpu->vramFree)),
                                           formatBytes(b.gpu->vramTotal));
    }
    return {};
}

QVariant BackendListModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char *const kHeaders[] = {"Backend", "State", "Job", "Queue", "Model", "GPU"};
    return section >= 0 && section < ColumnCount ? tr(kHeaders[section]) : QVariant();
}

} // namespace cr::monitor
