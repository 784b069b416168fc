#pragma once
// The event log: a bounded list model (the oldest entries go first once `capacity` is reached) and a
// filter proxy (text, category, hide progress). Qt Core only.

#include <QAbstractListModel>
#include <QDateTime>
#include <QSortFilterProxyModel>

#include <deque>

namespace cr::monitor {

struct MonitorEvent;

struct LogEntry {
    enum class Level { Info, Warning, Error };
    QDateTime time;
    QString category; // "comfy" | "job" | "relay" | "rest" | "ui"
    QString type;     // the event type ("progress", "job_finished") or a short tag ("state", "gap")
    QString jobId;
    QString text;
    Level level = Level::Info;
};

class EventLogModel final : public QAbstractListModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EventLogModel)

public:
    enum Role { CategoryRole = Qt::UserRole + 1, TypeRole, JobIdRole, LevelRole, TextRole };

    explicit EventLogModel(int capacity = 2000, QObject *parent = nullptr);

    int capacity() const { return m_capacity; }
    void setCapacity(int capacity);
    int rowCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    const LogEntry &entry(int row) const { return m_entries.at(size_t(row)); }
    quint64 totalAdded() const { return m_totalAdded; }

    void append(LogEntry entry);
    void appendEvent(const MonitorEvent &event); // a relay event, summarised
    void clear();

    static QString format(const LogEntry &entry); // "12:00:01.250  progress  a1b2c3d4  step 3/20 on node 3"

private:
    void dropOldest(int count);

    int m_capacity;
    std::deque<LogEntry> m_entries;
    quint64 m_totalAdded = 0;
};

// Shows the entries that contain the text (case-insensitive, in type, job id or text), of the category
// (empty = all), optionally without the frequent progress events.
class EventLogFilter final : public QSortFilterProxyModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EventLogFilter)

public:
    explicit EventLogFilter(QObject *parent = nullptr);
    void setText(const QString &text);
    void setCategory(const QString &category);
    void setHideProgress(bool hide);

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    QString m_text;
    QString m_category;
    bool m_hideProgress = false;
};

} // namespace cr::monitor
