#include "tests/api/sseclient.h"

#include <QDeadlineTimer>
#include <QSignalSpy>

namespace cr::testing {

SseClient::SseClient(QObject *parent) : QObject(parent)
{
    connect(&m_socket, &QIODevice::readyRead, this, &SseClient::onReadyRead);
    connect(&m_socket, &QAbstractSocket::disconnected, this, [this] {
        m_disconnected = true;
        emit changed();
    });
    connect(&m_socket, &QAbstractSocket::errorOccurred, this, [this] {
        if (m_socket.state() == QAbstractSocket::UnconnectedState) {
            m_disconnected = true;
            emit changed();
        }
    });
}

SseClient::~SseClient() = default;

void SseClient::open(quint16 port, const QByteArray &pathAndQuery, const QList<QPair<QByteArray, QByteArray>> &headers,
                     bool stalled, const QByteArray &method)
{
    m_reading = true;
    if (stalled)
        m_socket.setReadBufferSize(4096);
    m_stalledAfterHead = stalled;
    m_head = method == "HEAD";
    QByteArray request = method + ' ' + pathAndQuery + " HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(port)
        + "\r\nAccept: text/event-stream\r\n";
    for (const auto &h : headers)
        request += h.first + ": " + h.second + "\r\n";
    request += "\r\n";
    connect(
        &m_socket, &QAbstractSocket::connected, this, [this, request] { m_socket.write(request); },
        Qt::SingleShotConnection);
    m_socket.connectToHost(QStringLiteral("127.0.0.1"), port);
}

void SseClient::resume()
{
    m_reading = true;
    m_socket.setReadBufferSize(0);
    onReadyRead();
}

void SseClient::onReadyRead()
{
    if (!m_reading)
        return;
    const QByteArray fresh = m_socket.readAll();
    m_received += fresh.size();
    m_raw.append(fresh);
    if (!m_headDone && !parseHead())
        return;
    if (m_chunked) {
        parseChunks();
    } else if (!m_ended) {
        m_body.append(m_raw);
        m_raw.clear();
        if (m_contentLength >= 0 && m_body.size() >= m_contentLength)
            m_ended = true;
    }
    emit changed();
}

bool SseClient::parseHead()
{
    const qsizetype end = m_raw.indexOf("\r\n\r\n");
    if (end < 0)
        return false;
    const QList<QByteArray> lines = m_raw.left(end).split('\n');
    m_raw.remove(0, end + 4);
    const QList<QByteArray> statusLine = lines.value(0).trimmed().split(' ');
    m_status = statusLine.value(1).toInt();
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines.at(i).trimmed();
        const qsizetype colon = line.indexOf(':');
        if (colon > 0)
            m_headers.append({line.left(colon).trimmed(), line.mid(colon + 1).trimmed()});
    }
    m_headDone = true;
    m_chunked = header("Transfer-Encoding").toLower().contains("chunked") && !m_head;
    bool ok = false;
    const qint64 length = header("Content-Length").toLongLong(&ok);
    m_contentLength = ok ? length : -1;
    if (m_head || m_contentLength == 0)
        m_ended = true;
    if (m_stalledAfterHead)
        m_reading = false; // what came with the head stays in m_raw until resume()
    emit changed();
    return m_reading;
}

void SseClient::parseChunks()
{
    while (!m_ended) {
        const qsizetype lineEnd = m_raw.indexOf("\r\n");
        if (lineEnd < 0)
            return;
        bool ok = false;
        const qint64 size = m_raw.left(lineEnd).split(';').value(0).trimmed().toLongLong(&ok, 16);
        if (!ok || size < 0) {
            m_protocolError = true;
            m_raw.clear();
            return;
        }
        if (size == 0) {
            if (m_raw.size() < lineEnd + 4)
                return;
            m_raw.remove(0, lineEnd + 4);
            m_ended = true;
            break;
        }
        if (m_raw.size() < lineEnd + 2 + size + 2)
            return;
        if (m_raw.mid(lineEnd + 2 + size, 2) != "\r\n")
            m_protocolError = true;
        m_text.append(m_raw.mid(lineEnd + 2, size));
        m_raw.remove(0, lineEnd + 2 + size + 2);
        parseEvents();
    }
}

void SseClient::parseEvents()
{
    qsizetype start = 0;
    for (qsizetype nl = m_text.indexOf('\n', start); nl >= 0; nl = m_text.indexOf('\n', start)) {
        QByteArray line = m_text.mid(start, nl - start);
        start = nl + 1;
        if (line.endsWith('\r'))
            line.chop(1);
        if (line.isEmpty()) { // dispatch
            if (m_hasData)
                m_events.append(m_current);
            m_current = SseEvent{};
            m_hasData = false;
            continue;
        }
        if (line.startsWith(':')) {
            ++m_comments;
            continue;
        }
        const qsizetype colon = line.indexOf(':');
        const QByteArray field = colon < 0 ? line : line.left(colon);
        QByteArray value = colon < 0 ? QByteArray() : line.mid(colon + 1);
        if (value.startsWith(' '))
            value.remove(0, 1);
        if (field == "id") {
            m_current.id = value;
        } else if (field == "event") {
            m_current.event = QString::fromUtf8(value);
        } else if (field == "data") {
            if (m_hasData)
                m_current.data.append('\n');
            m_current.data.append(value);
            m_hasData = true;
        } else if (field == "retry") {
            m_retry = value;
        }
    }
    m_text.remove(0, start);
}

bool SseClient::waitUntil(const std::function<bool()> &done, int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    while (!done()) {
        if (deadline.hasExpired())
            return false;
        QSignalSpy spy(this, &SseClient::changed);
        spy.wait(int(qMax<qint64>(1, deadline.remainingTime())));
    }
    return true;
}

bool SseClient::waitHead(int timeoutMs)
{
    return waitUntil([this] { return m_headDone || m_disconnected; }, timeoutMs) && m_headDone;
}

bool SseClient::waitForEvents(qsizetype count, int timeoutMs)
{
    return waitUntil([this, count] { return m_events.size() >= count; }, timeoutMs);
}

bool SseClient::waitForComments(int count, int timeoutMs)
{
    return waitUntil([this, count] { return m_comments >= count; }, timeoutMs);
}

bool SseClient::waitEnded(int timeoutMs)
{
    return waitUntil([this] { return m_ended; }, timeoutMs);
}

bool SseClient::waitDisconnected(int timeoutMs)
{
    return waitUntil([this] { return m_disconnected; }, timeoutMs);
}

QByteArray SseClient::header(const QByteArray &name) const
{
    for (const auto &h : m_headers)
        if (h.first.compare(name, Qt::CaseInsensitive) == 0)
            return h.second;
    return {};
}

QList<qint64> SseClient::seqs() const
{
    QList<qint64> out;
    for (const SseEvent &e : m_events)
        if (!e.id.isEmpty())
            out.append(e.seq());
    return out;
}

QStringList SseClient::types() const
{
    QStringList out;
    for (const SseEvent &e : m_events)
        out.append(e.event);
    return out;
}

} // namespace cr::testing
