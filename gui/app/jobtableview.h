#pragma once
// The job list: a table over JobListModel with the state in its colour, a thin progress bar under the
// state of running jobs, and a Cancel button in the last column of jobs that can still be cancelled.

#include <QStyledItemDelegate>
#include <QTableView>

namespace cr::monitor {

class JobListModel;

// Paints state colours, progress and the cancel button; a click on the button emits cancelClicked.
class JobDelegate final : public QStyledItemDelegate
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(JobDelegate)

public:
    explicit JobDelegate(QObject *parent = nullptr) : QStyledItemDelegate(parent) { }
    void paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;

signals:
    void cancelClicked(const QString &jobId);

protected:
    bool editorEvent(QEvent *event, QAbstractItemModel *model, const QStyleOptionViewItem &option,
                     const QModelIndex &index) override;
};

class JobTableView final : public QTableView
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(JobTableView)

public:
    explicit JobTableView(QWidget *parent = nullptr);
    void setJobModel(JobListModel *model);

    QString selectedJob() const;
    void selectJob(const QString &jobId); // scrolls to it; no-op when absent

signals:
    void jobSelected(const QString &jobId); // by the user or selectJob()
    void cancelClicked(const QString &jobId);

private:
    JobListModel *m_model = nullptr;
};

} // namespace cr::monitor
