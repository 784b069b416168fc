#pragma once
// The job list as a table model over a JobTracker (newest first): id, workflow, state, duration, ETA (the
// runner's eta_ms, counting down between updates), outputs
// (a count per media kind; each output in the tooltip) and a cancel column. Qt Core only; colours and buttons are the
// view's business (it reads StateRole and CanCancelRole). Call tick() once a second so running jobs' durations move.

#include "protocol/jobrecord.h"

#include <QAbstractTableModel>
#include <QStringList>

namespace cr::monitor {

class JobTracker;

class JobListModel final : public QAbstractTableModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(JobListModel)

public:
    enum Column {
        IdColumn,
        WorkflowColumn,
        StateColumn,
        DurationColumn,
        EtaColumn,
        OutputsColumn,
        CancelColumn,
        ColumnCount
    };
    enum Role {
        JobIdRole = Qt::UserRole + 1, // QString
        StateRole,                    // int(JobState)
        CanCancelRole,                // bool: queued or running, no cancel requested yet
        ProgressRole,                 // double 0..1 (overall)
    };

    explicit JobListModel(JobTracker *tracker, QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    QString jobIdAt(int row) const;
    int rowOf(const QString &jobId) const; // -1 when absent
    void tick();                           // durations of active jobs changed

    static QString formatDuration(qint64 ms); // "850 ms", "12.3 s", "4 min 05 s", "—"
    // "2 image, 1 video, 1 text" (in order of first appearance), "—" for none.
    static QString outputSummary(const QList<protocol::JobOutput> &outputs);
    // One line per output: "#0 image  a.png (image/png)", an inline text with its first 80 characters.
    static QString outputDetails(const QList<protocol::JobOutput> &outputs);

private:
    void onAdded(const QString &id);
    void onChanged(const QString &id);
    void onRemoved(const QString &id);
    bool isNewer(const QString &a, const QString &b) const; // JobTracker::isNewer of the two jobs

    JobTracker *m_tracker;
    QStringList m_rows; // job ids, newest first
};

} // namespace cr::monitor
