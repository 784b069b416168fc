#include "gui/client/joblistmodel.h"

#include "gui/client/jobtracker.h"

#include <QDateTime>
#include <QHash>

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

namespace {

// media of an output, or what an older runner's record still says.
QString mediaOf(const protocol::JobOutput &out)
{
    if (!out.media.isEmpty())
        return out.media;
    return out.isImage() ? QStringLiteral("image") : QStringLiteral("file");
}

} // namespace

QString JobListModel::outputSummary(const QList<protocol::JobOutput> &outputs)
{
    QStringList order;
    QHash<QString, int> counts;
    for (const protocol::JobOutput &out : outputs) {
        const QString media = mediaOf(out);
        if (!counts.contains(media))
            order.append(media);
        ++counts[media];
    }
    if (order.isEmpty())
        return QStringLiteral("—");
    QStringList parts;
    for (const QString &media : order)
        parts.append(QStringLiteral("%1 %2").arg(counts.value(media)).arg(media));
    return parts.join(QStringLiteral(", "));
}

QString JobListModel::outputDetails(const QList<protocol::JobOutput> &outputs)
{
    QStringList lines;
    for (const protocol::JobOutput &out : outputs) {
        QString line = QStringLiteral("#%1 %2  ").arg(out.index).arg(mediaOf(out));
        if (out.filename.isEmpty() && !out.text.isNull()) {
            QString text = out.text.simplified();
            if (text.size() > 80)
                text = text.left(79) + QChar(0x2026);
            line += QStringLiteral("\"%1\"").arg(text);
        } else {
            line += out.filename;
        }
        if (!out.contentType.isEmpty())
            line += QStringLiteral(" (%1)").arg(out.contentType);
        lines.append(line);
    }
    return lines.join(QLatin1Char('\n'));
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
        if (index.column() == OutputsColumn && !info.outputs.isEmpty())
            return outputDetails(info.outputs);
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
        case EtaColumn:
            return isFinal(info.state) ? QString()
                                       : formatDuration(job->etaRemainingMs(QDateTime::currentMSecsSinceEpoch()));
        case OutputsColumn:
            return outputSummary(info.outputs);
        case CancelColumn:
            return canCancel ? QStringLiteral("Cancel") : QString();
        default:
            return {};
        }
    case Qt::TextAlignmentRole:
        if (index.column() == DurationColumn || index.column() == EtaColumn)
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
    case EtaColumn:
        return QStringLiteral("ETA");
    case OutputsColumn:
        return QStringLiteral("Outputs");
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
            emit dataChanged(index(row, DurationColumn), index(row, EtaColumn), {Qt::DisplayRole});
        else if (job && job->info.state == JobState::Queued)
            emit dataChanged(index(row, EtaColumn), index(row, EtaColumn), {Qt::DisplayRole});
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
