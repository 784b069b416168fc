#include "relaytestclients.h"

#include <QJsonDocument>
#include <QNetworkRequest>
#include <QtEndian>

namespace cr::testing {

using namespace Qt::StringLiterals;

namespace {

std::optional<QJsonObject> controlData(const WsMessage &m, const QString &type)
{
    if (m.binary)
        return std::nullopt;
    const QJsonObject o = QJsonDocument::fromJson(m.data).object();
    if (o.value("type"_L1).toString() != type)
        return std::nullopt;
    return o.value("data"_L1).toObject();
}

} // namespace

WsProbe::WsProbe(QObject *parent) : QObject(parent)
{
    connect(&m_socket, &QWebSocket::connected, this, [this] {
        m_connected = true;
        emit changed();
    });
    connect(&m_socket, &QWebSocket::disconnected, this, [this] {
        m_connected = false;
        m_disconnected = true;
        m_closeCode = quint16(m_socket.closeCode());
        m_closeReason = m_socket.closeReason();
        emit changed();
    });
    connect(&m_socket, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
        m_messages.append({false, text.toUtf8()});
        emit changed();
    });
    connect(&m_socket, &QWebSocket::binaryMessageReceived, this, [this](const QByteArray &data) {
        m_messages.append({true, data});
        emit changed();
    });
}

WsProbe::~WsProbe() = default;

void WsProbe::open(const QUrl &url, const QByteArray &authorization)
{
    QNetworkRequest request(url);
    if (!authorization.isEmpty())
        request.setRawHeader("Authorization", authorization);
    m_socket.open(request);
}

bool WsProbe::waitConnected(int timeoutMs)
{
    return waitUntil(
               this, &WsProbe::changed, [this] { return m_connected || m_disconnected; }, timeoutMs)
        && m_connected;
}

bool WsProbe::waitDisconnected(int timeoutMs)
{
    return waitUntil(
        this, &WsProbe::changed, [this] { return m_disconnected; }, timeoutMs);
}

bool WsProbe::waitForMessages(qsizetype count, int timeoutMs)
{
    return waitUntil(
        this, &WsProbe::changed, [this, count] { return m_messages.size() >= count; }, timeoutMs);
}

bool WsProbe::roundTrip(int timeoutMs)
{
    const int id = m_nextPing++;
    const qsizetype from = m_messages.size();
    m_socket.sendTextMessage(u"{\"type\":\"ping\",\"data\":{\"id\":%1}}"_s.arg(id));
    qsizetype found = -1;
    const bool ok = waitUntil(
        this, &WsProbe::changed,
        [&] {
            for (qsizetype i = from; i < m_messages.size(); ++i) {
                const auto data = controlData(m_messages[i], u"relay_pong"_s);
                if (data && data->value("id"_L1).toInt() == id) {
                    found = i;
                    return true;
                }
            }
            return m_disconnected;
        },
        timeoutMs);
    if (!ok || found < 0)
        return false;
    m_messages.removeAt(found);
    return true;
}

std::optional<QJsonObject> WsProbe::request(const QByteArray &text, const QString &replyType, int timeoutMs)
{
    const qsizetype from = m_messages.size();
    m_socket.sendTextMessage(QString::fromUtf8(text));
    std::optional<QJsonObject> reply;
    waitUntil(
        this, &WsProbe::changed,
        [&] {
            for (qsizetype i = from; i < m_messages.size(); ++i) {
                if ((reply = controlData(m_messages[i], replyType))) {
                    m_messages.removeAt(i);
                    return true;
                }
            }
            return m_disconnected;
        },
        timeoutMs);
    return reply;
}

QList<QByteArray> WsProbe::texts() const
{
    QList<QByteArray> out;
    for (const WsMessage &m : m_messages)
        if (!m.binary)
            out.append(m.data);
    return out;
}

QList<QByteArray> WsProbe::binaries() const
{
    QList<QByteArray> out;
    for (const WsMessage &m : m_messages)
        if (m.binary)
            out.append(m.data);
    return out;
}

RawWsClient::RawWsClient(QObject *parent) : QObject(parent)
{
    m_socket.setReadBufferSize(4096);
    connect(&m_socket, &QTcpSocket::readyRead, this, [this] {
        if (!m_reading)
            return;
        m_buffer.append(m_socket.readAll());
        parseFrames();
    });
    connect(&m_socket, &QTcpSocket::disconnected, this, [this] {
        m_disconnected = true;
        emit changed();
    });
}

RawWsClient::~RawWsClient() = default;

bool RawWsClient::connectStalled(quint16 port, const QByteArray &pathAndQuery, int timeoutMs)
{
    m_socket.connectToHost(u"127.0.0.1"_s, port);
    if (!waitUntil(
            &m_socket, &QTcpSocket::stateChanged,
            [this] { return m_socket.state() == QAbstractSocket::ConnectedState; }, timeoutMs))
        return false;
    m_socket.write("GET " + pathAndQuery
                   + " HTTP/1.1\r\n"
                     "Host: 127.0.0.1:"
                   + QByteArray::number(port)
                   + "\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n");
    const bool gotHeader = waitUntil(
        &m_socket, &QTcpSocket::readyRead,
        [this] {
            m_buffer.append(m_socket.readAll());
            return m_buffer.contains("\r\n\r\n");
        },
        timeoutMs);
    if (!gotHeader || !m_buffer.startsWith("HTTP/1.1 101"))
        return false;
    m_buffer.remove(0, m_buffer.indexOf("\r\n\r\n") + 4);
    return true;
}

void RawWsClient::resume()
{
    m_reading = true;
    m_socket.setReadBufferSize(0);
    m_buffer.append(m_socket.readAll());
    parseFrames();
}

bool RawWsClient::waitForMessages(qsizetype count, int timeoutMs)
{
    return waitUntil(
        this, &RawWsClient::changed, [this, count] { return m_messages.size() >= count; }, timeoutMs);
}

bool RawWsClient::waitClosed(int timeoutMs)
{
    return waitUntil(
        this, &RawWsClient::changed, [this] { return m_closeCode || m_disconnected; }, timeoutMs);
}

void RawWsClient::sendClose(quint16 code)
{
    const uchar mask[4] = {0x12, 0x34, 0x56, 0x78};
    uchar payload[2];
    qToBigEndian<quint16>(code, payload);
    QByteArray frame;
    frame.append(char(0x88));     // FIN + close
    frame.append(char(0x80 | 2)); // masked, 2 bytes
    frame.append(reinterpret_cast<const char *>(mask), 4);
    for (int i = 0; i < 2; ++i)
        frame.append(char(payload[i] ^ mask[i]));
    m_socket.write(frame);
    m_socket.flush();
}

QByteArray RawWsClient::clientFrame(quint8 opcode, const QByteArray &payload, bool masked, bool fin)
{
    QByteArray frame;
    frame.append(char((fin ? 0x80 : 0) | (opcode & 0x0f)));
    const char maskBit = masked ? char(0x80) : char(0);
    if (payload.size() <= 125) {
        frame.append(char(maskBit | char(payload.size())));
    } else if (payload.size() <= 0xffff) {
        frame.append(char(maskBit | 126));
        uchar len[2];
        qToBigEndian<quint16>(quint16(payload.size()), len);
        frame.append(reinterpret_cast<const char *>(len), 2);
    } else {
        frame.append(char(maskBit | 127));
        uchar len[8];
        qToBigEndian<quint64>(quint64(payload.size()), len);
        frame.append(reinterpret_cast<const char *>(len), 8);
    }
    const uchar mask[4] = {0x12, 0x34, 0x56, 0x78};
    if (masked) {
        frame.append(reinterpret_cast<const char *>(mask), 4);
        for (qsizetype i = 0; i < payload.size(); ++i)
            frame.append(char(payload.at(i) ^ mask[i % 4]));
    } else {
        frame.append(payload);
    }
    return frame;
}

void RawWsClient::sendFrame(quint8 opcode, const QByteArray &payload, bool masked)
{
    m_socket.write(clientFrame(opcode, payload, masked));
}

void RawWsClient::sendRaw(const QByteArray &bytes)
{
    m_socket.write(bytes);
    m_socket.flush();
}

void RawWsClient::parseFrames()
{
    bool any = false;
    for (;;) {
        if (m_buffer.size() < 2)
            break;
        const auto b0 = uchar(m_buffer[0]), b1 = uchar(m_buffer[1]);
        qsizetype offset = 2;
        quint64 length = b1 & 0x7f;
        if (length == 126) {
            if (m_buffer.size() < 4)
                break;
            length = qFromBigEndian<quint16>(m_buffer.constData() + 2);
            offset = 4;
        } else if (length == 127) {
            if (m_buffer.size() < 10)
                break;
            length = qFromBigEndian<quint64>(m_buffer.constData() + 2);
            offset = 10;
        }
        if (quint64(m_buffer.size() - offset) < length)
            break;
        const QByteArray payload = m_buffer.mid(offset, qsizetype(length));
        m_buffer.remove(0, offset + qsizetype(length));
        const bool fin = b0 & 0x80;
        const int opcode = b0 & 0x0f;
        any = true;
        if (m_closeCode)
            ++m_framesAfterClose;
        if (opcode == 0x1 || opcode == 0x2) {
            m_fragment = payload;
            m_fragmentBinary = opcode == 0x2;
        } else if (opcode == 0x0) {
            m_fragment.append(payload);
        } else if (opcode == 0x8) {
            m_closeCode = payload.size() >= 2 ? qFromBigEndian<quint16>(payload.constData()) : quint16(1005);
            continue;
        } else {
            continue; // ping/pong: a stalled client never answers
        }
        if (fin && opcode != 0x8)
            m_messages.append({m_fragmentBinary, std::exchange(m_fragment, QByteArray())});
    }
    if (any)
        emit changed();
}

} // namespace cr::testing
