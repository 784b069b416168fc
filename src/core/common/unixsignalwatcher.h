#pragma once
// Turns Unix signals into Qt signals (self-pipe + QSocketNotifier), so that shutdown (SIGINT/SIGTERM) and
// reload (SIGHUP) run in the event loop, never in a signal handler. Used by comfy-runner and comfy-sim.

#include <QList>
#include <QObject>

#include <csignal>

class QSocketNotifier;

namespace cr {

class UnixSignalWatcher final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(UnixSignalWatcher)

public:
    // Installs handlers for the given signals (SIGINT, SIGTERM and SIGHUP are the ones it names; the
    // default behaviour of the others stays). One watcher per process; the destructor restores SIG_DFL.
    explicit UnixSignalWatcher(const QList<int> &signalNumbers = {SIGINT, SIGTERM}, QObject *parent = nullptr);
    ~UnixSignalWatcher() override;

    // False when the handlers could not be installed (no socket pair or sigaction failed).
    bool isActive() const { return m_notifier != nullptr; }

signals:
    void terminationRequested(int signalNumber); // SIGINT or SIGTERM
    void hangupReceived();                       // SIGHUP: reload the configuration

private:
    void readSignal();

    QList<int> m_signals;
    QSocketNotifier *m_notifier = nullptr;
};

} // namespace cr
