#include "core/webhooks/webhookattempt.h"

#include "core/config/webhookpolicy.h"
#include "core/webhooks/webhooksignature.h"
#include "core/webhooks/webhookslog.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QNetworkAccessManager>
#include <QNetworkReply>

namespace cr {

namespace {
constexpr qsizetype kKeptAnswerBytes = 256;
} // namespace

QString AttemptOutcome::kindName(Kind kind)
{
    switch (kind) {
    case Kind::Success:
        return QStringLiteral("success");
    case Kind::HttpError:
        return QStringLiteral("http_error");
    case Kind::Gone:
        return QStringLiteral("gone");
    case Kind::NetworkError:
        return QStringLiteral("network_error");
    case Kind::Timeout:
        return QStringLiteral("timeout");
    case Kind::Forbidden:
        return QStringLiteral("forbidden");
    case Kind::Unsigned:
        return QStringLiteral("unsigned");
    }
    return QStringLiteral("network_error");
}

WebhookAttempt::WebhookAttempt(DueDelivery delivery, const WebhookSettings &settings, QNetworkAccessManager *nam,
                               QObject *parent)
    : QObject(parent), m_delivery(std::move(delivery)), m_settings(settings), m_nam(nam)
{
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, [this] {
        finish({AttemptOutcome::Kind::Timeout, 0,
                QStringLiteral("no complete answer within %1 s").arg(m_settings.timeoutMs / 1000.0)});
    });
}

WebhookAttempt::~WebhookAttempt()
{
    m_done = true;
    if (m_lookupId >= 0)
        QHostInfo::abortHostLookup(m_lookupId);
    if (m_reply) {
        m_reply->disconnect(this);
        m_reply->abort();
        m_reply->deleteLater();
    }
}

void WebhookAttempt::start()
{
    m_timer.start(m_settings.timeoutMs);
    const QUrl url(m_delivery.url);
    if (const QString why = webhookpolicy::urlProblem(url); !why.isEmpty())
        return finish({AttemptOutcome::Kind::Forbidden, 0, why});
    if (const QHostAddress literal(url.host()); !literal.isNull()) {
        QHostInfo info;
        info.setHostName(url.host());
        info.setAddresses({literal});
        // Queued, so that finished never comes from inside start().
        QMetaObject::invokeMethod(
            this, [this, info] { onResolved(info); }, Qt::QueuedConnection);
        return;
    }
    m_lookupId = QHostInfo::lookupHost(url.host(), this, [this](const QHostInfo &info) {
        m_lookupId = -1;
        onResolved(info);
    });
}

void WebhookAttempt::onResolved(const QHostInfo &info)
{
    if (m_done)
        return;
    if (info.error() != QHostInfo::NoError || info.addresses().isEmpty())
        return finish({AttemptOutcome::Kind::NetworkError, 0,
                       QStringLiteral("cannot resolve %1: %2").arg(info.hostName(), info.errorString())});
    const QString why
        = webhookpolicy::addressProblem(QUrl(m_delivery.url).host(), info.addresses(), m_settings.allowHosts);
    if (!why.isEmpty())
        return finish({AttemptOutcome::Kind::Forbidden, 0, why});
    send(info.addresses());
}

void WebhookAttempt::send(const QList<QHostAddress> &addresses)
{
    const std::optional<QByteArray> key = webhookpolicy::decodeSecret(m_settings.secret);
    if (!key)
        return finish({AttemptOutcome::Kind::Unsigned, 0,
                       QStringLiteral("no valid [webhooks] secret: the delivery cannot be signed")});
    const qint64 timestamp = QDateTime::currentSecsSinceEpoch();
    const QUrl url(m_delivery.url);
    QUrl target = url;
    QByteArray hostHeader;
    if (url.scheme().compare(QLatin1String("http"), Qt::CaseInsensitive) == 0 && QHostAddress(url.host()).isNull()) {
        QHostAddress pinned = addresses.first(); // the first IPv4 one, as most receivers listen there
        for (const QHostAddress &a : addresses)
            if (a.protocol() == QAbstractSocket::IPv4Protocol) {
                pinned = a;
                break;
            }
        target.setHost(pinned.toString());
        hostHeader = url.host(QUrl::FullyEncoded).toUtf8();
        if (url.port() != -1)
            hostHeader += ':' + QByteArray::number(url.port());
    }
    QNetworkRequest req{target};
    if (!hostHeader.isEmpty())
        req.setRawHeader("Host", hostHeader);
    req.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
    req.setHeader(QNetworkRequest::UserAgentHeader,
                  QByteArrayLiteral("comfy-runner/") + QCoreApplication::applicationVersion().toUtf8());
    req.setRawHeader("webhook-id", m_delivery.id.toUtf8());
    req.setRawHeader("webhook-timestamp", QByteArray::number(timestamp));
    req.setRawHeader("webhook-signature", webhookSignature(*key, m_delivery.id, timestamp, m_delivery.body));
    // A redirect could lead anywhere (a metadata address too): it is an answer like any other non-2xx.
    req.setAttribute(QNetworkRequest::RedirectPolicyAttribute, QNetworkRequest::ManualRedirectPolicy);
    req.setAttribute(QNetworkRequest::CacheLoadControlAttribute, QNetworkRequest::AlwaysNetwork);
    m_reply = m_nam->post(req, m_delivery.body);
    connect(m_reply, &QNetworkReply::readyRead, this, [this] {
        // Read everything, keep only the head: a receiver answering gigabytes costs nothing.
        while (m_reply && m_reply->bytesAvailable() > 0) {
            const QByteArray chunk = m_reply->read(64 * 1024);
            if (m_head.size() < kKeptAnswerBytes)
                m_head += chunk.left(kKeptAnswerBytes - m_head.size());
        }
    });
    connect(m_reply, &QNetworkReply::finished, this, &WebhookAttempt::onReplyFinished);
}

void WebhookAttempt::onReplyFinished()
{
    if (m_done || !m_reply)
        return;
    const int status = m_reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    const QString answer = QString::fromUtf8(m_head).simplified();
    if (status >= 200 && status < 300)
        return finish({AttemptOutcome::Kind::Success, status, {}});
    if (status == 410)
        return finish({AttemptOutcome::Kind::Gone, status, QStringLiteral("410 Gone: the receiver asked to stop")});
    if (status > 0)
        return finish({AttemptOutcome::Kind::HttpError, status,
                       answer.isEmpty() ? QStringLiteral("HTTP %1").arg(status)
                                        : QStringLiteral("HTTP %1: %2").arg(status).arg(answer)});
    finish({AttemptOutcome::Kind::NetworkError, 0, m_reply->errorString()});
}

void WebhookAttempt::finish(AttemptOutcome outcome)
{
    if (std::exchange(m_done, true))
        return;
    m_timer.stop();
    if (m_lookupId >= 0)
        QHostInfo::abortHostLookup(std::exchange(m_lookupId, -1));
    if (m_reply) {
        m_reply->disconnect(this);
        if (m_reply->isRunning())
            m_reply->abort();
        m_reply->deleteLater();
        m_reply = nullptr;
    }
    emit finished(outcome);
}

} // namespace cr
