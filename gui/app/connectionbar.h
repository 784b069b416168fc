#pragma once
// The connection bar: runner URL, relay URL (empty = ask the runner, else its port + 1), token, a
// Connect/Disconnect button, and what the relay client reports: state (with the next retry) and lag / round trip.

#include "gui/client/relayclient.h"

#include <QUrl>
#include <QWidget>

class QLabel;
class QLineEdit;
class QPushButton;

namespace cr::monitor {

class ConnectionBar final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ConnectionBar)

public:
    explicit ConnectionBar(QWidget *parent = nullptr);

    void setFields(const QString &runnerUrl, const QString &relayUrl, const QString &token);
    QString runnerUrl() const;
    QString relayUrl() const; // as typed (may be empty)
    QString token() const;
    QUrl typedRelayUrl() const; // the relay field as a URL; empty when nothing is typed (then: discovery)
    // Shows the relay URL in use in the empty relay field (placeholder), and whether the runner named it;
    // an empty url restores the default placeholder.
    void setRelayInUse(const QUrl &url, bool reported);
    QString relayPlaceholder() const;

    void setState(RelayClient::State state, const QString &detail = {});
    void setLag(qint64 lagMs, qint64 roundTripMs);
    QString stateText() const;

signals:
    void connectRequested();
    void disconnectRequested();

private:
    QLineEdit *m_runner;
    QLineEdit *m_relay;
    QLineEdit *m_token;
    QPushButton *m_button;
    QLabel *m_stateDot;
    QLabel *m_state;
    QLabel *m_lag;
    RelayClient::State m_current = RelayClient::State::Disconnected;
};

} // namespace cr::monitor
