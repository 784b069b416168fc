#pragma once
// One attempt of one webhook delivery: the host is resolved and checked against the link-local guard (DNS
// can change between submission and delivery), the body is signed (Standard Webhooks headers) and POSTed
// without following redirects. The whole attempt, DNS included, is bounded by [webhooks] timeout; the
// answer's body is read and dropped (only its first bytes are kept for the error message), so a receiver
// can neither stall nor flood the service. Nothing here blocks: DNS runs on Qt's lookup threads.
// An http URL with a host name is sent to the address that was checked (the Host header keeps the name), so
// a name that resolves differently a moment later (DNS rebinding) cannot reach a refused address; https
// needs no pinning, since nothing is sent before the certificate proves the name.

#include "core/config/config.h"
#include "core/webhooks/deliverystore.h"

#include <QElapsedTimer>
#include <QHostInfo>
#include <QMetaType>
#include <QObject>
#include <QPointer>
#include <QTimer>

class QNetworkAccessManager;
class QNetworkReply;

namespace cr {

struct AttemptOutcome {
    // success: 2xx; http_error: another status; gone: 410 (stop); network_error: refused, reset, DNS, TLS;
    // timeout: no whole answer within [webhooks] timeout; forbidden: the host resolves to a refused address;
    // unsigned: no [webhooks] secret (retried: the secret may come with a reload).
    enum class Kind { Success, HttpError, Gone, NetworkError, Timeout, Forbidden, Unsigned };
    Kind kind = Kind::NetworkError;
    int status = 0;                     // HTTP status, 0 when none came
    QString error;                      // empty on success
    static QString kindName(Kind kind); // "success", "http_error", ... (the metrics' outcome label)
};

class WebhookAttempt final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(WebhookAttempt)

public:
    WebhookAttempt(DueDelivery delivery, const WebhookSettings &settings, QNetworkAccessManager *nam,
                   QObject *parent = nullptr);
    ~WebhookAttempt() override; // aborts what is still running, without emitting finished
    void start();
    const DueDelivery &delivery() const { return m_delivery; }

signals:
    void finished(const cr::AttemptOutcome &outcome); // exactly once after start()

private:
    void onResolved(const QHostInfo &info);
    void send(const QList<QHostAddress> &addresses);
    void onReplyFinished();
    void finish(AttemptOutcome outcome);

    DueDelivery m_delivery;
    WebhookSettings m_settings;
    QNetworkAccessManager *m_nam;
    QTimer m_timer;
    int m_lookupId = -1;
    QPointer<QNetworkReply> m_reply;
    QByteArray m_head; // the first bytes of the answer
    bool m_done = false;
};

} // namespace cr

Q_DECLARE_METATYPE(cr::AttemptOutcome)
