#pragma once
// Accepting connections under limits, shared by the API's and the relay's listeners: a connection over a
// limit is refused with one prebuilt HTTP answer (refuseConnection), and a listener whose accept() fails
// (out of file descriptors) backs off and resumes instead of stopping for good or retrying in a busy loop
// (AcceptBackoff).

#include <QByteArray>
#include <QLoggingCategory>
#include <QObject>
#include <QTimer>

class QTcpServer;
class QTcpSocket;

namespace cr {

// A complete HTTP/1.1 answer with a JSON body that ends the connection (Connection: close).
QByteArray closingHttpAnswer(int status, const QByteArray &reason, const QByteArray &jsonBody);

// Writes `answer` (a complete HTTP response that says `Connection: close`) to an accepted socket that is
// over a limit and closes it once the client's request head was read (closing with unread bytes would reset
// the connection and could destroy the answer before the client reads it), at the latest after graceMs / 4;
// aborted after graceMs. The socket deletes itself; nothing else may keep it.
void refuseConnection(QTcpSocket *socket, const QByteArray &answer, int graceMs = 4000);

// Keeps a listener from spinning or stopping when the process runs out of file descriptors. Qt 6.4 retries a
// failing accept() (EMFILE) in a busy loop, and pauses for good on other errors; so the listener is paused
// before descriptors run out: admit() refuses an accepted connection whose descriptor is within the reserve
// of RLIMIT_NOFILE, and acceptError pauses too. Either warns on `category` and resumes after a delay that
// doubles (minDelayMs to maxDelayMs) while descriptors stay short; it resumes only when a probe descriptor
// is below the reserve again, and resets the delay once a connection is admitted.
class AcceptBackoff final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(AcceptBackoff)

public:
    AcceptBackoff(QTcpServer *listener, const QLoggingCategory &category, int minDelayMs = 50, int maxDelayMs = 2000);
    // False (the caller closes the connection) when `descriptor` leaves fewer than the reserve free.
    bool admit(qintptr descriptor);
    int errorCount() const { return m_errors; }
    bool isPaused() const { return m_resume.isActive(); }
    // Raises the soft RLIMIT_NOFILE to the hard limit (at start); returns the soft limit now in force.
    static qint64 raiseDescriptorLimit();

private:
    void backOff(const QString &why);
    void tryResume();

    QTcpServer *m_listener;
    const QLoggingCategory &m_category;
    const int m_minDelayMs;
    const int m_maxDelayMs;
    int m_delayMs;
    int m_errors = 0;
    QTimer m_resume;
};

} // namespace cr
