#pragma once
// The runner's ComfyUI backends as a table model: name, state, the job running there with its progress,
// its queue (prompts handed over / its limit, and ComfyUI's own queue), the last checkpoint and the GPU
// with its VRAM. The list comes from GET /api/v1/backends (BackendPoller); the running job and its progress
// from the JobTracker (a job's `backend`). Qt Core only; colours are the view's (StateRole).

#include "protocol/backendstatus.h"

#include <QAbstractTableModel>
#include <QList>

namespace cr::monitor {

class JobTracker;

class BackendListModel final : public QAbstractTableModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(BackendListModel)

public:
    enum Column { NameColumn, StateColumn, JobColumn, QueueColumn, ModelColumn, GpuColumn, ColumnCount };
    enum Role {
        NameRole = Qt::UserRole + 1, // QString
        StateRole,                   // QString: connected | connecting | disconnected | draining
        JobIdRole,                   // QString: the job running there ("" when idle)
        ProgressRole,                // double 0..1 of that job, -1 when idle
        DrainingRole,                // bool
    };

    // tracker: not owned, may be null (no job column then).
    explicit BackendListModel(JobTracker *tracker, QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // Replaces the list (rows keep their place when the names stay the same).
    void setBackends(const QList<protocol::BackendStatus> &backends);
    const QList<protocol::BackendStatus> &backends() const { return m_backends; }
    QStringList names() const;
    int rowOf(const QString &name) const; // -1 when absent
    // The running job on a backend, else its newest queued one; empty when none is known.
    QString currentJob(const QString &backend) const;

    static QString formatBytes(qint64 bytes); // "23.5 GiB", "512 MiB"; "—" when unknown

private:
    void onJobChanged(const QString &jobId);

    JobTracker *m_tracker;
    QList<protocol::BackendStatus> m_backends;
};

} // namespace cr::monitor
