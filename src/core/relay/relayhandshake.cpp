#include "core/relay/relayhandshake.h"
#include "core/relay/relaylog.h"

#include "core/relay/relayframeguard.h"

#include <QObject>
#include <QTcpSocket>

namespace cr {

namespace {

QByteArray refusal(int status, const QByteArray &phrase, const QByteArray &extraHeaders, const QByteArray &text)
{
    return "HTTP/1.1 " + QByteArray::number(status) + ' ' + phrase + "\r\n" + extraHeaders
        + "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " + QByteArray::number(text.size())
        + "\r\nConnection: close\r\n\r\n" + text;
}

// The value of one header in a request head (case-insensitive name; the first occurrence).
QByteArray headerValue(const QList<QByteArray> &lines, const QByteArray &name)
{
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray &line = lines.at(i);
        const qsizetype colon = line.indexOf(':');
        if (colon > 0 && line.left(colon).trimmed().compare(name, Qt::CaseInsensitive) == 0)
            return line.mid(colon + 1).trimmed();
    }
    return {};
}

bool hasToken(const QByteArray &value, const QByteArray &token)
{
    for (const QByteArray &part : value.split(','))
        if (part.trimmed().compare(token, Qt::CaseInsensitive) == 0)
            return true;
    return false;
}

} // namespace

RelayHandshakeVerdict RelayHandshakeScreen::judge(const QByteArray &received)
{
    using Kind = RelayHandshakeVerdict::Kind;
    const qsizetype end = received.indexOf("\r\n\r\n");
    if (end < 0) {
        if (received.size() > kMaxHeadBytes)
            return {Kind::Refuse, refusal(431, "Request Header Fields Too Large", {}, "request head too large\n"),
                    "head too large"};
        return {};
    }
    const QList<QByteArray> lines = received.left(end).split('\n');
    const bool upgrade = received.startsWith("GET ") && hasToken(headerValue(lines, "Upgrade"), "websocket");
    if (!upgrade)
        return {Kind::Refuse,
                refusal(426, "Upgrade Required", "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n",
                        "This is the comfy_runner event relay: connect with a WebSocket client (ws://host:port/).\n"
                        "The REST API is on its own port.\n"),
                "not a WebSocket upgrade"};
    const QByteArray version = headerValue(lines, "Sec-WebSocket-Version");
    if (version != "13")
        return {Kind::Refuse,
                refusal(426, "Upgrade Required", "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n",
                        "Unsupported WebSocket version \"" + version.left(16)
                            + "\": this relay speaks version 13 (RFC 6455).\n"),
                "WebSocket version " + version.left(16)};
    return {Kind::Pass, {}, {}};
}

void RelayHandshakeScreen::screen(QTcpSocket *socket, std::function<void()> pass, std::function<void()> unmasked)
{
    // The watcher lives on the socket (gone with it) and ends once the head is judged.
    auto *watcher = new QObject(socket);
    auto check = [socket, watcher, pass = std::move(pass), unmasked = std::move(unmasked)] {
        const QByteArray received = socket->peek(kMaxHeadBytes + 1);
        const RelayHandshakeVerdict v = judge(received);
        if (v.kind == RelayHandshakeVerdict::Kind::Incomplete)
            return;
        QTcpSocket *const s = socket; // the captures go with the watcher
        const std::function<void()> next = pass;
        const std::function<void()> onUnmasked = unmasked;
        delete watcher; // disconnects this lambda before anyone else reads the socket
        if (v.kind == RelayHandshakeVerdict::Kind::Pass) {
            // Made before Qt's slots (in next()), so that it sees every byte before Qt reads it.
            new RelayFrameGuard(s, received.indexOf("\r\n\r\n") + 4, onUnmasked);
            return next();
        }
        qCInfo(lcRelay).noquote() << "refused a connection from" << s->peerAddress().toString()
                                  << "before the handshake:" << QString::fromLatin1(v.reason);
        s->readAll(); // closing with unread bytes would reset the connection and lose the answer
        s->write(v.response);
        s->disconnectFromHost();
    };
    QObject::connect(socket, &QIODevice::readyRead, watcher, check);
    if (socket->bytesAvailable() > 0)
        check();
}

} // namespace cr
