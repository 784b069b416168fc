// POST /generate/image against a misbehaving Node-RED: a raw QTcpServer on port 0 that answers with a huge
// body (declared or not), never answers, answers 500, 302 or something that is not HTTP. Each ends in 502
// upstream_error with a reason, within the bounds; a 2xx/4xx answer is still passed on as it is.

#include "tests/api/apitestenv.h"

#include <QTcpServer>
#include <QTcpSocket>
#include <QtTest>

using namespace cr;
using namespace cr::testing;
using namespace Qt::StringLiterals;

namespace {

// Node-RED stand-in: reads a request head and answers with `answer` (nothing when empty); `then` runs after
// the answer was written (e.g. to keep writing a body that never ends).
class FakeUpstream : public QObject
{
public:
    QByteArray answer;
    std::function<void(QTcpSocket *)> then;
    int requests = 0;

    bool listen()
    {
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *s = m_server.nextPendingConnection()) {
                connect(s, &QIODevice::readyRead, s, [this, s] {
                    m_head[s] += s->readAll();
                    if (!m_head[s].contains("\r\n\r\n") || m_answered.contains(s))
                        return;
                    m_answered.append(s);
                    ++requests;
                    if (!answer.isEmpty())
                        s->write(answer);
                    if (then)
                        then(s);
                });
            }
        });
        return m_server.listen(QHostAddress::LocalHost, 0);
    }
    QUrl url() const { return QUrl(u"http://127.0.0.1:%1/generate"_s.arg(m_server.serverPort())); }

private:
    QTcpServer m_server;
    QHash<QTcpSocket *, QByteArray> m_head;
    QList<QTcpSocket *> m_answered;
};

// Keeps writing 64 KiB chunks while the socket is open and its write buffer drains (bounded, no timer).
void writeForever(QTcpSocket *s)
{
    auto more = [s] {
        if (s->state() == QAbstractSocket::ConnectedState && s->bytesToWrite() < 256 * 1024)
            s->write(QByteArray(64 * 1024, 'x'));
    };
    QObject::connect(s, &QTcpSocket::bytesWritten, s, more);
    more();
}

} // namespace

class TstApiUpstream : public QObject
{
    Q_OBJECT

private slots:
    void misbehavingUpstream_data();
    void misbehavingUpstream();
    void goodAnswerPassedOn_data();
    void goodAnswerPassedOn();
};

void TstApiUpstream::misbehavingUpstream_data()
{
    QTest::addColumn<QByteArray>("answer");
    QTest::addColumn<bool>("endless"); // keep sending body bytes after the answer
    QTest::addColumn<QString>("reason");
    QTest::newRow("declared body over the limit")
        << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n") << true << u"too_large"_s;
    QTest::newRow("endless body, no length")
        << QByteArray("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n") << true << u"too_large"_s;
    QTest::newRow("never answers") << QByteArray() << false << u"timeout"_s;
    QTest::newRow("head, then silence") << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc") << false
                                        << u"timeout"_s;
    QTest::newRow("500") << QByteArray("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops!") << false
                         << u"status"_s;
    QTest::newRow("302") << QByteArray("HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n") << false
                         << u"status"_s;
    QTest::newRow("garbage") << QByteArray("NOT HTTP AT ALL\r\n\r\n") << false << u"invalid_response"_s;
}

void TstApiUpstream::misbehavingUpstream()
{
    QFETCH(QByteArray, answer);
    QFETCH(bool, endless);
    QFETCH(QString, reason);
    FakeUpstream upstream;
    upstream.answer = answer;
    if (endless)
        upstream.then = writeForever;
    if (answer.startsWith("NOT HTTP"))
        upstream.then = [](QTcpSocket *s) { s->disconnectFromHost(); };
    QVERIFY(upstream.listen());
    ApiTestEnv env({}, [&upstream](Config &c) {
        c.http.nodeRedUrl = upstream.url();
        c.http.maxBodyBytes = 1024 * 1024;
        c.http.waitTimeoutMs = 500;
    });
    QVERIFY(env.ok());
    const HttpResult r = env.call("POST", u"/generate/image"_s, R"({"x": 1})");
    QCOMPARE(r.status, 502);
    QVERIFY2(r.errorCode() == u"upstream_error"_s, r.body.constData());
    const QJsonObject details = r.json()[u"error"_s][u"details"_s].toObject();
    QCOMPARE(details[u"reason"_s].toString(), reason);
    QCOMPARE(details[u"url"_s].toString(), upstream.url().toString());
    if (reason == u"status"_s)
        QCOMPARE(details[u"status"_s].toInt(), answer.mid(9, 3).toInt());
    // Qt's HTTP client resends a request whose connection closed without an answer (a few times, bounded).
    QVERIFY(reason == u"invalid_response"_s ? upstream.requests >= 1 : upstream.requests == 1);
    // The service still answers.
    QCOMPARE(env.call("GET", u"/health"_s).status, 200);
}

void TstApiUpstream::goodAnswerPassedOn_data()
{
    QTest::addColumn<int>("status");
    QTest::newRow("200") << 200;
    QTest::newRow("404 (Node-RED's own refusal)") << 404;
}

void TstApiUpstream::goodAnswerPassedOn()
{
    QFETCH(int, status);
    FakeUpstream upstream;
    const QByteArray body = R"({"done": true})";
    upstream.answer = "HTTP/1.1 " + QByteArray::number(status)
        + " X\r\nContent-Type: application/json\r\nContent-Length: " + QByteArray::number(body.size()) + "\r\n\r\n"
        + body;
    QVERIFY(upstream.listen());
    ApiTestEnv env({}, [&upstream](Config &c) {
        c.http.nodeRedUrl = upstream.url();
        c.http.maxBodyBytes = 1024 * 1024;
    });
    QVERIFY(env.ok());
    const HttpResult r = env.call("POST", u"/generate/image"_s, R"({"x": 1})");
    QCOMPARE(r.status, status);
    QCOMPARE(r.body, body);
    QCOMPARE(r.header("Content-Type"), QByteArray("application/json"));
}

QTEST_GUILESS_MAIN(TstApiUpstream)
#include "tst_apiupstream.moc"
