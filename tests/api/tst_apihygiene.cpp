// HTTP hygiene below QHttpServer, probed with raw sockets: oversized bodies rejected with 413 before the body
// is sent, oversized heads 431, chunked bodies 411, Expect: 100-continue answered, idle connections closed,
// 408 for a body that stops or a head that trickles past its deadline (a slow but steady one is served),
// keep-alive still works, hostile request lines.

#include "tests/api/apitestenv.h"
#include "tests/api/rawclient.h"

#include <QtTest>

using namespace cr;
using namespace cr::testing;
using namespace Qt::StringLiterals;

class TstApiHygiene : public QObject
{
    Q_OBJECT

private slots:
    void oversizedBodyRejectedBeforeBody();
    void rejectionReachesAClientStillSending();
    void bodyAtLimitAccepted();
    void expectContinueAnswered();
    void oversizedHeadIs431();
    void chunkedBodyIs411();
    void idleConnectionClosed();
    void requestTimeouts_data();
    void requestTimeouts();
    void slowButSteadyRequestServed();
    void keepAliveServesSequentialRequests();
    void connectionCap();
    void hostileRequestLines_data();
    void hostileRequestLines();
};

void TstApiHygiene::oversizedBodyRejectedBeforeBody()
{
    ApiTestEnv env({}, [](Config &c) { c.http.maxBodyBytes = 1024; });
    QVERIFY(env.ok());
    RawClient c(env.port());
    c.socket.write("POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                   "10000000000\r\n\r\n");
    QVERIFY(c.waitFor("payload_too_large"));
    QVERIFY(c.received.startsWith("HTTP/1.1 413 "));
    QVERIFY(c.received.contains("\"limit\":1024"));
    QVERIFY(c.waitClosed());
    QCOMPARE(env.fake().promptCount(), 0);
}

// A client that goes on sending after its request was refused (a body sent without waiting, a head that
// trickles past its deadline) still reads the answer: the server must not close with that input unread,
// which makes the kernel reset the connection and can throw the unsent or unread answer away.
void TstApiHygiene::rejectionReachesAClientStillSending()
{
    ApiTestEnv env({}, [](Config &c) { c.http.maxBodyBytes = 1024; });
    QVERIFY(env.ok());
    for (int round = 0; round < 20; ++round) {
        RawClient c(env.port());
        QVERIFY(c.waitConnected());
        c.socket.write("POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                       "4000000\r\n\r\n");
        Trickle body(c.socket, QByteArray(4'000'000, ' '), 1, 64 * 1024); // keeps coming after the 413
        QVERIFY2(c.waitFor("payload_too_large"),
                 qPrintable(u"round %1: %2"_s.arg(round).arg(QString::fromLatin1(c.received))));
        QVERIFY(c.received.startsWith("HTTP/1.1 413 "));
        QVERIFY(c.waitClosed());
    }
    QCOMPARE(env.call("GET", QStringLiteral("/api/v1/health")).status, 200);
}

void TstApiHygiene::bodyAtLimitAccepted()
{
    ApiTestEnv env({}, [](Config &c) { c.http.maxBodyBytes = 1024; });
    QVERIFY(env.ok());
    QByteArray body = R"({"text": "padded"})";
    body += QByteArray(1024 - body.size(), ' ');
    HttpResult r = env.call("POST", QStringLiteral("/update/text"), body);
    QCOMPARE(r.status, 200);
    r = env.call("POST", QStringLiteral("/update/text"), body + ' ');
    QCOMPARE(r.status, 413);
}

void TstApiHygiene::expectContinueAnswered()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    RawClient c(env.port());
    const QByteArray body = R"({"text": "after continue"})";
    c.socket.write("POST /update/text HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: "
                   "100-continue\r\nContent-Length: "
                   + QByteArray::number(body.size()) + "\r\n\r\n");
    QVERIFY(c.waitFor("HTTP/1.1 100 Continue\r\n\r\n", 2000));
    c.socket.write(body);
    QVERIFY(c.waitFor("\"status\":\"success\""));
    QVERIFY(c.received.contains("HTTP/1.1 200"));
}

void TstApiHygiene::oversizedHeadIs431()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    RawClient c(env.port());
    c.socket.write("GET /api/v1/health HTTP/1.1\r\nX-Big: " + QByteArray(70 * 1024, 'a'));
    QVERIFY(c.waitFor("headers_too_large"));
    QVERIFY(c.received.startsWith("HTTP/1.1 431 "));
    QVERIFY(c.waitClosed());
}

void TstApiHygiene::chunkedBodyIs411()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    RawClient c(env.port());
    c.socket.write(
        "POST /update/text HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    QVERIFY(c.waitFor("length_required"));
    QVERIFY(c.received.startsWith("HTTP/1.1 411 "));
    QVERIFY(c.waitClosed());
}

void TstApiHygiene::idleConnectionClosed()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    HttpLimits limits = env.server().limits();
    limits.idleTimeoutMs = 200;
    env.server().setLimits(limits);
    RawClient idle(env.port());
    RawClient partial(env.port());
    partial.socket.write("GET /api/v1/hea"); // an unfinished head counts as idle too
    QVERIFY(idle.waitClosed(3000));
    QVERIFY(partial.waitClosed(3000));
    QVERIFY(idle.received.isEmpty());                      // between requests: closed without a word
    QVERIFY(partial.received.startsWith("HTTP/1.1 408 ")); // inside a request: told why
}

void TstApiHygiene::requestTimeouts_data()
{
    QTest::addColumn<QByteArray>("sent");     // at once
    QTest::addColumn<QByteArray>("trickled"); // then one byte every 20 ms
    QTest::addColumn<int>("timeoutMs");       // in the row's message
    const QByteArray post
        = "POST /update/text HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n";
    QTest::newRow("declared body never sent") << post << QByteArray() << 300;
    QTest::newRow("body stops half way") << post + R"({"text":)" << QByteArray() << 300;
    // Every byte comes well within the idle timeout, so only the head deadline can end this.
    QTest::newRow("head trickled") << QByteArray("GET /api/v1/health HTTP/1.1\r\n")
                                   << "X-Slow: " + QByteArray(500, 'a') + "\r\n\r\n"
                                   << 400;
}

void TstApiHygiene::requestTimeouts()
{
    QFETCH(QByteArray, sent);
    QFETCH(QByteArray, trickled);
    QFETCH(int, timeoutMs);
    ApiTestEnv env;
    QVERIFY(env.ok());
    HttpLimits limits = env.server().limits();
    limits.idleTimeoutMs = 60'000;
    limits.bodyIdleTimeoutMs = 300;
    limits.headTimeoutMs = 400;
    env.server().setLimits(limits);
    RawClient c(env.port());
    QVERIFY(QTest::qWaitFor([&] { return c.socket.state() == QAbstractSocket::ConnectedState; }, 5000));
    c.socket.write(sent);
    Trickle trickle(c.socket, trickled, 20);
    QVERIFY2(c.waitFor("request_timeout"), c.received.constData());
    QVERIFY2(c.received.startsWith("HTTP/1.1 408 Request Timeout\r\n"), c.received.constData());
    QVERIFY(c.received.contains("\"timeout_ms\":" + QByteArray::number(timeoutMs)));
    QVERIFY(c.waitClosed());
    if (!trickled.isEmpty())
        QVERIFY(!trickle.rest.isEmpty()); // cut off before the head was complete
    QCOMPARE(env.call("GET", QStringLiteral("/api/v1/health")).status, 200);
}

// The timeouts bound silence and the head's total time, not a slow transfer: a body whose bytes keep coming
// (for longer than the body idle timeout in total) is read to its end and answered.
void TstApiHygiene::slowButSteadyRequestServed()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    HttpLimits limits = env.server().limits();
    limits.bodyIdleTimeoutMs = 400;
    env.server().setLimits(limits);
    RawClient c(env.port());
    QVERIFY(QTest::qWaitFor([&] { return c.socket.state() == QAbstractSocket::ConnectedState; }, 5000));
    const QByteArray body = R"({"text": "slow and steady)" + QByteArray(40, '.') + R"("})";
    c.socket.write("POST /update/text HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                   + QByteArray::number(body.size()) + "\r\n\r\n");
    QElapsedTimer clock;
    clock.start();
    Trickle trickle(c.socket, body, 20);
    QVERIFY2(c.waitFor("\"status\":\"success\"", 10'000), c.received.constData());
    QVERIFY(c.received.startsWith("HTTP/1.1 200 "));
    QVERIFY(clock.elapsed() > limits.bodyIdleTimeoutMs); // the whole body took longer than one idle period
    QVERIFY(!c.closed);
}

void TstApiHygiene::keepAliveServesSequentialRequests()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    RawClient c(env.port());
    const QByteArray body = R"({"text": "one"})";
    c.socket.write("POST /update/text HTTP/1.1\r\nHost: x\r\nContent-Length: " + QByteArray::number(body.size())
                   + "\r\n\r\n" + body);
    QVERIFY(c.waitFor("\"text\":\"one\""));
    c.socket.write("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
    QVERIFY(c.waitFor("\"status\":\"ok\""));
    // The guard tracked the first body, so an oversized second request is still caught.
    c.socket.write("POST /update/text HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n");
    QVERIFY(c.waitFor("payload_too_large"));
}

// At most [http-server] max_connections connections are open: one more gets 503 too_many_connections (and
// is closed) before QHttpServer sees it, and a place freed is taken again.
void TstApiHygiene::connectionCap()
{
    ApiTestEnv env({}, [](Config &c) { c.http.maxConnections = 3; });
    QVERIFY(env.ok());
    const QByteArray health = "GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n";
    std::vector<std::unique_ptr<RawClient>> open;
    for (int i = 0; i < 3; ++i) {
        open.push_back(std::make_unique<RawClient>(env.port()));
        QVERIFY(open.back()->waitConnected());
        open.back()->socket.write(health);
        QVERIFY(open.back()->waitFor("\"status\":\"ok\""));
    }
    RawClient over(env.port());
    QVERIFY(over.waitConnected());
    over.socket.write(health);
    QVERIFY2(over.waitFor("}"), over.received.constData());
    QVERIFY2(over.received.startsWith("HTTP/1.1 503 Service Unavailable\r\n"), over.received.constData());
    QVERIFY(over.received.contains("\r\nConnection: close\r\n"));
    QVERIFY(over.received.contains("\"code\":\"too_many_connections\""));
    QVERIFY(over.received.contains("\"limit\":3"));
    QVERIFY(over.waitClosed());
    for (const auto &c : open)
        QVERIFY(!c->closed); // the open ones are untouched

    open.front()->socket.disconnectFromHost();
    QVERIFY(open.front()->waitClosed());
    QVERIFY(QTest::qWaitFor(
        [&] { // the server may see the close a little later: ask until the place is taken
            auto c = std::make_unique<RawClient>(env.port());
            if (!c->waitConnected(1000))
                return false;
            c->socket.write(health);
            return c->waitFor("HTTP/1.1 ", 1000) && c->received.startsWith("HTTP/1.1 200 ");
        },
        5000));
}

void TstApiHygiene::hostileRequestLines_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<QByteArray>("expect"); // "" = connection closed without an answer is fine
    QTest::newRow("dotdot") << QByteArray("GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n")
                            << QByteArray("\"not_found\"");
    QTest::newRow("encoded dotdot") << QByteArray("GET /api/v1/jobs/%2e%2e%2f%2e%2e%2fetc HTTP/1.1\r\nHost: x\r\n\r\n")
                                    << QByteArray("HTTP/1.1 404 ");
    QTest::newRow("unknown method") << QByteArray("BREW /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
                                    << QByteArray("method_not_allowed");
    QTest::newRow("bad content-length") << QByteArray("POST /update/text HTTP/1.1\r\nContent-Length: -5\r\n\r\n")
                                        << QByteArray("invalid_request");
    QTest::newRow("garbage") << QByteArray("GARBAGE\r\n\r\n") << QByteArray();
}

void TstApiHygiene::hostileRequestLines()
{
    QFETCH(QByteArray, request);
    QFETCH(QByteArray, expect);
    ApiTestEnv env;
    QVERIFY(env.ok());
    RawClient c(env.port());
    c.socket.write(request);
    if (expect.isEmpty())
        QVERIFY(c.waitClosed());
    else
        QVERIFY2(c.waitFor(expect), c.received.constData());
    // The server is still fine.
    QCOMPARE(env.call("GET", QStringLiteral("/api/v1/health")).status, 200);
}

QTEST_GUILESS_MAIN(TstApiHygiene)
#include "tst_apihygiene.moc"
