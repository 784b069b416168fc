#pragma once
// The backends panel: every ComfyUI of the runner's pool with its state, the job it runs and its progress,
// its queue, the last checkpoint and its GPU (BackendListModel, kept current by a BackendPoller), a Drain /
// Resume button for the selected backend, and the choice of which backend the live preview follows (all,
// or one by name).

#include <QWidget>

class QComboBox;
class QLabel;
class QPushButton;
class QTableView;

namespace cr::monitor {

class BackendListModel;
class BackendPoller;
class JobTracker;
class RestClient;

class BackendsPanel final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(BackendsPanel)

public:
    // rest, tracker: not owned; must outlive the panel.
    BackendsPanel(RestClient *rest, JobTracker *tracker, QWidget *parent = nullptr);

    BackendListModel *model() const { return m_model; }
    BackendPoller *poller() const { return m_poller; }
    QTableView *table() const { return m_table; }
    QComboBox *followBox() const { return m_follow; }
    QPushButton *drainButton() const { return m_drain; }
    QString followedBackend() const;              // "" = all backends
    void setFollowedBackend(const QString &name); // "" = all; a name not (yet) listed is kept and shown
    QString selectedBackend() const;
    void selectBackend(const QString &name);
    QString statusText() const;

signals:
    void followedBackendChanged(const QString &name); // "" = all
    void drainFailed(const QString &backend, const QString &message);

private:
    void onUpdated();
    void updateFollowChoices();
    void updateDrainButton();
    void toggleDrain();

    RestClient *m_rest;
    BackendListModel *m_model;
    BackendPoller *m_poller;
    QTableView *m_table;
    QComboBox *m_follow;
    QPushButton *m_drain;
    QLabel *m_status;
    QString m_followed;
};

} // namespace cr::monitor
