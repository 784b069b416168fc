#include "core/common/unixsignalwatcher.h"

#include <QSocketNotifier>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace cr {

namespace {

int g_pipe[2] = {-1, -1};

// Async-signal-safe: one byte per signal (the write end is non-blocking; a full pipe drops the byte).
void onSignal(int signalNumber)
{
    const char byte = char(signalNumber);
    [[maybe_unused]] const ssize_t n = ::write(g_pipe[1], &byte, 1);
}

void closePipe()
{
    for (int &fd : g_pipe) {
        if (fd >= 0)
            ::close(fd);
        fd = -1;
    }
}

} // namespace

UnixSignalWatcher::UnixSignalWatcher(const QList<int> &signalNumbers, QObject *parent)
    : QObject(parent), m_signals(signalNumbers)
{
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g_pipe) != 0)
        return;
    ::fcntl(g_pipe[1], F_SETFL, O_NONBLOCK);

    struct sigaction sa = {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (const int sig : std::as_const(m_signals)) {
        if (::sigaction(sig, &sa, nullptr) != 0) {
            for (const int installed : std::as_const(m_signals))
                ::signal(installed, SIG_DFL);
            closePipe();
            return;
        }
    }
    m_notifier = new QSocketNotifier(g_pipe[0], QSocketNotifier::Read, this);
    connect(m_notifier, &QSocketNotifier::activated, this, &UnixSignalWatcher::readSignal);
}

UnixSignalWatcher::~UnixSignalWatcher()
{
    if (m_notifier) {
        for (const int sig : std::as_const(m_signals))
            ::signal(sig, SIG_DFL);
    }
    delete m_notifier;
    closePipe();
}

void UnixSignalWatcher::readSignal()
{
    char byte = 0;
    if (::read(g_pipe[0], &byte, 1) != 1)
        return;
    const int sig = int(byte);
    if (sig == SIGHUP)
        emit hangupReceived();
    else
        emit terminationRequested(sig);
}

} // namespace cr
