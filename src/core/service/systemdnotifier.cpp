#include "core/service/systemdnotifier.h"

#include <QLoggingCategory>
#include <QTimer>

#include <ctime>

#ifdef CR_HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

Q_LOGGING_CATEGORY(lcSystemd, "comfyrunner.systemd")

namespace cr {

SystemdNotifier::SystemdNotifier(std::function<QString()> status, int statusIntervalMs, QObject *parent)
    : QObject(parent), m_status(std::move(status)), m_statusTimer(new QTimer(this)), m_watchdogTimer(new QTimer(this)),
      m_supervised(isSupervised())
{
#ifdef CR_HAVE_LIBSYSTEMD
    uint64_t usec = 0;
    if (m_supervised && sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        m_watchdogMs = int(qMax<uint64_t>(1, usec / 1000));
#endif
    m_statusTimer->setInterval(statusIntervalMs);
    connect(m_statusTimer, &QTimer::timeout, this, [this] { sendStatus(false); });
    // Pinged from the event loop: when the loop hangs, the pings stop and systemd restarts the service.
    m_watchdogTimer->setInterval(qMax(1, m_watchdogMs / 2));
    connect(m_watchdogTimer, &QTimer::timeout, this, [] { notify("WATCHDOG=1"); });
}

SystemdNotifier::~SystemdNotifier() = default;

bool SystemdNotifier::isSupervised()
{
#ifdef CR_HAVE_LIBSYSTEMD
    return !qEnvironmentVariableIsEmpty("NOTIFY_SOCKET");
#else
    return false;
#endif
}

void SystemdNotifier::ready()
{
    if (!m_supervised)
        return;
    m_lastStatus = m_status ? m_status() : QString();
    notify("READY=1\nSTATUS=" + m_lastStatus.toUtf8());
    qCInfo(lcSystemd).noquote() << "told systemd we are ready"
                                << (m_watchdogMs ? QStringLiteral("(watchdog %1 ms)").arg(m_watchdogMs) : QString());
    m_statusTimer->start();
    if (m_watchdogMs > 0)
        m_watchdogTimer->start();
}

void SystemdNotifier::stopping()
{
    if (!m_supervised)
        return;
    m_statusTimer->stop();
    m_watchdogTimer->stop();
    notify("STOPPING=1\nSTATUS=stopping");
}

void SystemdNotifier::reloading()
{
    if (!m_supervised)
        return;
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const qint64 usec = qint64(now.tv_sec) * 1'000'000 + now.tv_nsec / 1000;
    notify("RELOADING=1\nMONOTONIC_USEC=" + QByteArray::number(usec) + "\nSTATUS=reloading the configuration");
}

void SystemdNotifier::reloaded(const QString &outcome)
{
    if (!m_supervised)
        return;
    // The outcome stays until the next status change, which the status timer sends as usual.
    m_lastStatus = m_status ? m_status() : QString();
    notify("READY=1\nSTATUS=" + outcome.left(200).toUtf8());
}

void SystemdNotifier::sendStatus(bool always)
{
    const QString now = m_status ? m_status() : QString();
    if (!always && now == m_lastStatus)
        return;
    m_lastStatus = now;
    notify("STATUS=" + now.toUtf8());
}

void SystemdNotifier::notify(const QByteArray &state)
{
#ifdef CR_HAVE_LIBSYSTEMD
    if (const int rc = sd_notify(0, state.constData()); rc < 0)
        qCWarning(lcSystemd) << "sd_notify failed:" << qt_error_string(-rc);
#else
    Q_UNUSED(state)
#endif
}

} // namespace cr
