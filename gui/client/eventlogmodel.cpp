#include "gui/client/eventlogmodel.h"

#include "gui/client/eventtext.h"
#include "gui/client/relayclient.h"

namespace cr::monitor {

EventLogModel::EventLogModel(int capacity, QObject *parent) : QAbstractListModel(parent), m_capacity(qMax(1, capacity))
{ }

void EventLogModel::setCapacity(int capacity)
{
    m_capacity = qMax(1, capacity);
    if (int(m_entries.size()) > m_capacity)
        dropOldest(int(m_entries.size()) - m_capacity);
}

int EventLogModel::rowCount(const QModelIndex &parent) const { return parent.isValid() ? 0 : int(m_entries.size()); }

QString EventLogModel::format(const LogEntry &e)
{
    return QStringLiteral("%1  %2  %3  %4")
        .arg(e.time.toLocalTime().toString(QStringLiteral("hh:mm:ss.zzz")), e.type.leftJustified(18, QLatin1Char(' ')),
             (e.jobId.isEmpty() ? QStringLiteral("-") : e.jobId.left(8)).leftJustified(8, QLatin1Char(' ')), e.text);
}

QVariant EventLogModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= int(m_entries.size()))
        return {};
    const LogEntry &e = m_entries.at(size_t(index.row()));
    switch (role) {
    case Qt::DisplayRole:
        return format(e);
    case Qt::ToolTipRole:
        return e.jobId.isEmpty() ? e.text : e.jobId + QLatin1Char('\n') + e.text;
    case CategoryRole:
        return e.category;
    case TypeRole:
        return e.type;
    case JobIdRole:
        return e.jobId;
    case LevelRole:
        return int(e.level);
    case TextRole:
        return e.text;
    default:
        return {};
    }
}

void EventLogModel::dropOldest(int count)
{
    if (count <= 0)
        return;
    beginRemoveRows({}, 0, count - 1);
    m_entries.erase(m_entries.begin(), m_entries.begin() + count);
    endRemoveRows();
}

void EventLogModel::append(LogEntry entry)
{
    if (!entry.time.isValid())
        entry.time = QDateTime::currentDateTime();
    ++m_totalAdded;
    if (int(m_entries.size()) >= m_capacity)
        dropOldest(int(m_entries.size()) - m_capacity + 1);
    const int row = int(m_entries.size());
    beginInsertRows({}, row, row);
    m_entries.push_back(std::move(entry));
    endInsertRows();
}

void EventLogModel::appendEvent(const MonitorEvent &ev)
{
    LogEntry e;
    e.time = ev.timestampMs > 0 ? QDateTime::fromMSecsSinceEpoch(ev.timestampMs) : QDateTime::currentDateTime();
    e.type = ev.event.typeName;
    e.category = eventCategory(e.type);
    e.jobId = ev.jobId.isEmpty() ? ev.event.promptId : ev.jobId;
    e.text = describeEvent(ev);
    const bool failed = ev.event.type == protocol::EventType::ExecutionError
        || (ev.service && ev.service->type == protocol::ServiceEventType::JobFailed);
    e.level = failed ? LogEntry::Level::Error : LogEntry::Level::Info;
    append(std::move(e));
}

void EventLogModel::clear()
{
    beginResetModel();
    m_entries.clear();
    endResetModel();
}

EventLogFilter::EventLogFilter(QObject *parent) : QSortFilterProxyModel(parent) { }

void EventLogFilter::setText(const QString &text)
{
    m_text = text.trimmed();
    invalidateFilter();
}

void EventLogFilter::setCategory(const QString &category)
{
    m_category = category;
    invalidateFilter();
}

void EventLogFilter::setHideProgress(bool hide)
{
    m_hideProgress = hide;
    invalidateFilter();
}

bool EventLogFilter::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    const QModelIndex idx = sourceModel()->index(sourceRow, 0, sourceParent);
    const QString type = idx.data(EventLogModel::TypeRole).toString();
    if (m_hideProgress
        && (type == QLatin1String("progress") || type == QLatin1String("progress_state")
            || type == protocol::serviceEventTypeName(protocol::ServiceEventType::JobProgress)))
        return false;
    if (!m_category.isEmpty() && idx.data(EventLogModel::CategoryRole).toString() != m_category)
        return false;
    if (m_text.isEmpty())
        return true;
    return type.contains(m_text, Qt::CaseInsensitive)
        || idx.data(EventLogModel::JobIdRole).toString().contains(m_text, Qt::CaseInsensitive)
        || idx.data(EventLogModel::TextRole).toString().contains(m_text, Qt::CaseInsensitive);
}

} // namespace cr::monitor
