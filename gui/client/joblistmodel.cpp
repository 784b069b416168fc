#include "gui/client/joblistmodel.h"

#include "gui/client/jobtracker.h"

#include <QDateTime>

namespace cr::monitor {

JobListModel::JobListModel(JobTracker *tracker, QObject *parent) : QAbstractTableModel(parent), m_tracker(tracker)
{
    m_rows = tracker->jobIds();
    connect(tracker, &JobTracker::jobAdded, this, &JobListModel::onAdded);
    connect(tracker, &JobTracker::jobChanged, this, &JobListModel::onChanged);
    connect(tracker, &JobTracker::jobRemoved, this, &JobListModel::onRemoved);
}

int JobListModel::rowCount(const QModelIndex &parent) const { return parent.isValid() ? 0 : int(m_rows.size()); }

int JobListModel::columnCount(const QModelIndex &parent) const { return parent.isValid() ? 0 : ColumnCount; }

QString JobListModel::formatDuration(qint64 ms)
{
    if (ms < 0)
        return QStringLiteral("—");
    if (ms < 1000)
        return QStringLiteral("%1 ms").arg(ms);
    if (ms < 60'000)
        return QStringLiteral("%1 s").arg(double(ms) / 1000.0, 0, 'f', 1);
    return QStringLiteral("%1 min %2 s").arg(ms / 60'000).arg((ms / 1000) % 60, 2, 10, QLatin1Char('0'));
}

QVariant JobListModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows.size())
        return {};
    const JobView *job = m_tracker->job(m_rows.at(index.row()));
    if (!job)
        return {};
    const JobInfo &info = job->info;
    const bool canCancel = !isFinal(info.state) && !info.cancelRequested;
    switch (role) {
    case JobIdRole:
        return info.id;
    case StateRole:
        return int(info.state);
    case CanCancelRole:
        return canCancel;
    case ProgressRole:
        return job->overallFraction();
    case Qt::ToolTipRole:
        if (!info.errorMessage().isEmpty())
            return info.errorMessage();
        if (!info.reason.isEmpty())
            return info.reason;
        return info.id;
    case Qt::DisplayRole:
        switch (index.column()) {
        case IdColumn:
            return info.id.left(8);
        case WorkflowColumn:
            return info.workflow.isEmpty() ? QStringLiteral("(graph)") : info.workflow;
        case StateColumn:
            if (info.cancelRequested && !isFinal(info.state))
                return QStringLiteral("cancelling");
            return jobStateName(info.state);
        case DurationColumn:
            return formatDuration(job->durationMs(QDateTime::currentMSecsSinceEpoch()));
        case CancelColumn:
            return canCancel ? QStringLiteral("Cancel") : QString();
        default:
            return {};
        }
    case Qt::TextAlignmentRole:
        if (index.column() == DurationColumn)
            return QVariant(Qt::AlignRight | Qt::AlignVCenter);
        return QVariant(Qt::AlignLeft | Qt::AlignVCenter);
    default:
        return {};
    }
}

QVariant JobListModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case IdColumn:
        return QStringLiteral("Job");
    case WorkflowColumn:
        return QStringLiteral("Workflow");
    case StateColumn:
        return QStringLiteral("State");
    case DurationColumn:
        return QStringLiteral("Duration");
    case CancelColumn:
        return QString();
    default:
        return {};
    }
}

QString JobListModel::jobIdAt(int row) const { return row >= 0 && row < m_rows.size() ? m_rows.at(row) : QString(); }

int JobListModel::rowOf(const QString &jobId) const { return int(m_rows.indexOf(jobId)); }

void JobListModel::tick()
{
    for (int row = 0; row < m_rows.size(); ++row) {
        const JobView *job = m_tracker->job(m_rows.at(row));
        if (job && job->info.state == JobState::Running)
            emit dataChanged(index(row, DurationColumn), index(row, DurationColumn), {Qt::DisplayRole});
    }
}

bool JobListModel::isNewer(const QString &a, const QString &b) const
{
    const JobView *x = m_tracker->job(a);
    const JobView *y = m_tracker->job(b);
    return x && (!y || JobTracker::isNewer(*x, *y));
}

void JobListModel::onAdded(const QString &id)
{
    if (m_rows.contains(id))
        return;
    int row = 0;
    while (row < m_rows.size() && !isNewer(id, m_rows.at(row)))
        ++row;
    beginInsertRows({}, row, row);
    m_rows.insert(row, id);
    endInsertRows();
}

void JobListModel::onChanged(const QString &id)
{
    const int row = rowOf(id);
    if (row >= 0)
        emit dataChanged(index(row, 0), index(row, ColumnCount - 1));
}

void JobListModel::onRemoved(const QString &id)
{
    const int row = rowOf(id);
    if (row < 0)
        return;
    beginRemoveRows({}, row, row);
    m_rows.removeAt(row);
    endRemoveRows();
}

} // namespace cr::monitor
