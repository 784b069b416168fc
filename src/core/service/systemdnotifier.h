#pragma once
// Tells systemd how the service is doing (sd_notify(3), for a unit with Type=notify and WatchdogSec=):
// READY=1 once both listeners are up, STATUS= lines when the summary changes ("ComfyUI connected, 2 jobs
// running, 3 relay clients"), WATCHDOG=1 from the event loop at half the watchdog interval (so a hung loop
// gets the service restarted), STOPPING=1 at shutdown. Outside systemd (no NOTIFY_SOCKET), or when built
// without libsystemd, it does nothing.

#include <QObject>
#include <QString>

#include <functional>

class QTimer;

namespace cr {

class SystemdNotifier final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(SystemdNotifier)

public:
    // status: the one-line summary, asked for every statusIntervalMs (sent only when it changed).
    explicit SystemdNotifier(std::function<QString()> status, int statusIntervalMs = 1000, QObject *parent = nullptr);
    ~SystemdNotifier() override;

    // True when systemd listens (NOTIFY_SOCKET is set and libsystemd is built in).
    static bool isSupervised();
    // The watchdog interval systemd expects pings at (0 when off).
    int watchdogIntervalMs() const { return m_watchdogMs; }

    void ready();    // READY=1 with the first STATUS=, and the watchdog and status timers start
    void stopping(); // STOPPING=1; the timers stop
    // Around a configuration reload (SIGHUP): RELOADING=1 (with MONOTONIC_USEC, as systemd 253 wants it),
    // then reloaded() says READY=1 with the outcome as STATUS= ("configuration reloaded" or why not).
    void reloading();
    void reloaded(const QString &outcome);

private:
    void sendStatus(bool always);
    static void notify(const QByteArray &state);

    std::function<QString()> m_status;
    QString m_lastStatus;
    QTimer *m_statusTimer;
    QTimer *m_watchdogTimer;
    int m_watchdogMs = 0;
    bool m_supervised = false;
};

} // namespace cr
