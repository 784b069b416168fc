#include "gui/app/connectionbar.h"

#include "gui/app/theme.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>

namespace cr::monitor {

ConnectionBar::ConnectionBar(QWidget *parent)
    : QWidget(parent), m_runner(new QLineEdit(this)), m_relay(new QLineEdit(this)), m_token(new QLineEdit(this)),
      m_button(new QPushButton(tr("Connect"), this)), m_stateDot(new QLabel(this)), m_state(new QLabel(this)),
      m_lag(new QLabel(this))
{
    m_runner->setObjectName(QStringLiteral("runnerUrl"));
    m_relay->setObjectName(QStringLiteral("relayUrl"));
    m_token->setObjectName(QStringLiteral("token"));
    m_button->setObjectName(QStringLiteral("connectButton"));
    m_runner->setPlaceholderText(QStringLiteral("http://127.0.0.1:8189"));
    setRelayInUse({}, false);
    m_token->setPlaceholderText(tr("token (optional)"));
    m_token->setEchoMode(QLineEdit::Password);
    m_runner->setMinimumWidth(200);
    m_relay->setMinimumWidth(210);
    m_token->setMaximumWidth(150);
    m_lag->setMinimumWidth(150);

    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(6, 4, 6, 4);
    layout->addWidget(new QLabel(tr("Runner"), this));
    layout->addWidget(m_runner, 3);
    layout->addWidget(new QLabel(tr("Relay"), this));
    layout->addWidget(m_relay, 2);
    layout->addWidget(m_token, 1);
    layout->addWidget(m_button);
    layout->addSpacing(12);
    layout->addWidget(m_stateDot);
    layout->addWidget(m_state);
    layout->addSpacing(12);
    layout->addWidget(m_lag);

    connect(m_button, &QPushButton::clicked, this, [this] {
        if (m_current == RelayClient::State::Disconnected)
            emit connectRequested();
        else
            emit disconnectRequested();
    });
    for (QLineEdit *edit : {m_runner, m_relay, m_token})
        connect(edit, &QLineEdit::returnPressed, this, &ConnectionBar::connectRequested);
    setState(RelayClient::State::Disconnected);
    setLag(-1, -1);
}

void ConnectionBar::setFields(const QString &runnerUrl, const QString &relayUrl, const QString &token)
{
    m_runner->setText(runnerUrl);
    m_relay->setText(relayUrl);
    m_token->setText(token);
}

QString ConnectionBar::runnerUrl() const { return m_runner->text().trimmed(); }

QString ConnectionBar::relayUrl() const { return m_relay->text().trimmed(); }

QString ConnectionBar::token() const { return m_token->text(); }

QUrl ConnectionBar::typedRelayUrl() const { return relayUrl().isEmpty() ? QUrl() : QUrl::fromUserInput(relayUrl()); }

void ConnectionBar::setRelayInUse(const QUrl &url, bool reported)
{
    if (url.isEmpty()) {
        m_relay->setPlaceholderText(tr("relay: ask the runner"));
        m_relay->setToolTip(tr("Empty: the runner is asked for its relay port (GET /api/v1/system); "
                               "a runner that does not say gets its port + 1"));
        return;
    }
    m_relay->setPlaceholderText(reported ? tr("%1 (from the runner)").arg(url.toString())
                                         : tr("%1 (guessed: port + 1)").arg(url.toString()));
    m_relay->setToolTip(reported ? tr("The runner reported this relay URL; type one to override it")
                                 : tr("The runner did not report its relay port; this is its port + 1. Type the relay "
                                      "URL if it is elsewhere"));
}

QString ConnectionBar::relayPlaceholder() const { return m_relay->placeholderText(); }

void ConnectionBar::setState(RelayClient::State state, const QString &detail)
{
    m_current = state;
    const QColor color = theme::connectionColor(int(state), palette());
    m_stateDot->setText(QStringLiteral("<span style=\"color:%1\">●</span>").arg(color.name()));
    QString text = RelayClient::stateName(state);
    text[0] = text[0].toUpper();
    if (!detail.isEmpty())
        text += QStringLiteral(" — ") + detail;
    m_state->setText(text);
    m_state->setToolTip(detail);
    m_button->setText(state == RelayClient::State::Disconnected ? tr("Connect") : tr("Disconnect"));
    const bool editable = state == RelayClient::State::Disconnected;
    m_runner->setEnabled(editable);
    m_relay->setEnabled(editable);
    m_token->setEnabled(editable);
}

void ConnectionBar::setLag(qint64 lagMs, qint64 roundTripMs)
{
    const QString lag = lagMs < 0 ? QStringLiteral("–") : QStringLiteral("%1 ms").arg(lagMs);
    const QString rtt = roundTripMs < 0 ? QStringLiteral("–") : QStringLiteral("%1 ms").arg(roundTripMs);
    m_lag->setText(tr("lag %1 · rtt %2").arg(lag, rtt));
    m_lag->setToolTip(
        tr("lag: now minus the relay's timestamp of the newest event; rtt: round trip of the relay ping"));
}

QString ConnectionBar::stateText() const { return m_state->text(); }

} // namespace cr::monitor
