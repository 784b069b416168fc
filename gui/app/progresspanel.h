#pragma once
// Progress of the selected job: a title (job, workflow, state), the overall bar (nodes done plus the
// running node's share) and the running node's bar (node name, step of max).

#include <QWidget>

class QLabel;
class QProgressBar;

namespace cr::monitor {

struct JobView;

class ProgressPanel final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ProgressPanel)

public:
    explicit ProgressPanel(QWidget *parent = nullptr);

    void setJob(const JobView *job); // nullptr: nothing selected

    int overallPercent() const;
    int nodeValue() const;
    int nodeMaximum() const;
    QString nodeText() const;
    QString titleText() const;

private:
    QLabel *m_title;
    QProgressBar *m_overall;
    QLabel *m_node;
    QProgressBar *m_nodeBar;
};

} // namespace cr::monitor
