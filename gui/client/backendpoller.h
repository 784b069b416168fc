#pragma once
// Keeps a BackendListModel current: GET /api/v1/backends on start, then every interval while running, and
// on demand (refresh(), e.g. after a drain). One request at a time. A runner without the route (an older
// version: 404) is reported once through unsupported() and not asked again until the next start().

#include <QObject>
#include <QTimer>

namespace cr::monitor {

class BackendListModel;
class RestClient;

class BackendPoller final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(BackendPoller)

public:
    // rest, model: not owned; must outlive the poller.
    BackendPoller(RestClient *rest, BackendListModel *model, QObject *parent = nullptr);

    void setIntervalMs(int ms) { m_timer.setInterval(qMax(100, ms)); }
    int intervalMs() const { return m_timer.interval(); }
    void start(); // asks now, then every interval
    void stop();  // the list is kept (it is the last one seen) until clear
    void clear(); // another runner: forget the list
    void refresh();
    bool isRunning() const { return m_running; }
    bool isSupported() const { return m_supported; }

signals:
    void updated(int backends);
    void unsupported();
    void failed(const QString &message); // the runner did not answer (the list is kept)

private:
    RestClient *m_rest;
    BackendListModel *m_model;
    QTimer m_timer;
    bool m_running = false;
    bool m_inFlight = false;
    bool m_supported = true;
    quint64 m_epoch = 0; // answers of an earlier start() are dropped
};

} // namespace cr::monitor
