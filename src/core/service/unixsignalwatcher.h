#pragma once
// Turns SIGINT/SIGTERM into a Qt signal (self-pipe + QSocketNotifier), so shutdown runs in the event loop.

#include <QObject>

class QSocketNotifier;

namespace cr {

class UnixSignalWatcher final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(UnixSignalWatcher)

public:
    // Installs handlers for SIGINT and SIGTERM. One watcher per process.
    explicit UnixSignalWatcher(QObject *parent = nullptr);
    ~UnixSignalWatcher() override;

signals:
    void terminationRequested(int signalNumber);

private:
    void readSignal();

    QSocketNotifier *m_notifier = nullptr;
};

} // namespace cr
