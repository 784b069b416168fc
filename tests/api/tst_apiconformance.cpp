// HTTP/1.1 conformance of the API's connections, probed with raw sockets: pipelined requests are answered in
// the order they were sent (a blocking one first holds the rest back), `Connection: close` and HTTP/1.0 end
// the connection after their answer (with `Connection: close`), and heads that a proxy could read differently
// get 400 (505 for an unsupported version) before any route runs.

#include "tests/api/apitestenv.h"
#include "tests/api/rawclient.h"

#include <QtTest>

using namespace cr;
using namespace cr::testing;

namespace {

const QByteArray kWaitJob = R"({"workflow": "sd15", "inputs": {"prompt": "pipelined"}, "wait": true})";

QByteArray post(const QByteArray &path, const QByteArray &body)
{
    return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
        + QByteArray::number(body.size()) + "\r\n\r\n" + body;
}

QByteArray get(const QByteArray &path, const QByteArray &extra = {})
{
    return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
}

} // namespace

class TstApiConformance : public QObject
{
    Q_OBJECT

private slots:
    void pipelinedAnswersInOrder_data();
    void pipelinedAnswersInOrder();
    void pipelinedBurstInOrder();
    void connectionClose_data();
    void connectionClose();
    void keepAliveByDefault();
    void strictHeads_data();
    void strictHeads();
};

void TstApiConformance::pipelinedAnswersInOrder_data()
{
    QTest::addColumn<QByteArray>("requests");       // written at once
    QTest::addColumn<QList<QByteArray>>("markers"); // one per answer, in the order the answers must come
    QTest::newRow("job wait, then /health") << post("/api/v1/jobs", kWaitJob) + get("/health")
                                            << QList<QByteArray>{"\"state\":\"succeeded\"", "\"status\":\"ok\""};
    QTest::newRow("/queue, then /health")
        << get("/queue") + get("/health") << QList<QByteArray>{"\"image_url\"", "\"status\":\"ok\""};
    QTest::newRow("job wait, then /queue") << post("/api/v1/jobs", kWaitJob) + get("/queue")
                                           << QList<QByteArray>{"\"state\":\"succeeded\"", "\"image_url\""};
}

// The answer to a request that blocks (a job with "wait", the legacy /queue) comes before the answer to the
// request pipelined behind it, which QHttpServer alone answers first.
void TstApiConformance::pipelinedAnswersInOrder()
{
    QFETCH(QByteArray, requests);
    QFETCH(QList<QByteArray>, markers);
    ApiTestEnv env;
    QVERIFY(env.ok());
    RawClient c(env.port());
    QVERIFY(c.waitConnected());
    c.socket.write(requests);
    QVERIFY2(QTest::qWaitFor([&] { return c.statuses().size() == markers.size(); }, 20'000), c.received.constData());
    QVERIFY2(c.waitFor(markers.last()), c.received.constData());
    QCOMPARE(c.statuses(), QList<int>(markers.size(), 200));
    qsizetype at = 0;
    for (const QByteArray &marker : markers) {
        const qsizetype found = c.received.indexOf(marker, at);
        QVERIFY2(found >= at, (marker + " is out of order in: " + c.received).constData());
        at = found;
    }
    QVERIFY(!c.closed); // keep-alive throughout
    c.socket.write(get("/api/v1/health"));
    QTRY_COMPARE_WITH_TIMEOUT(c.statuses().size(), markers.size() + 1, 5000);
}

// Many small pipelined requests in one write: every one is answered, in order (an unknown job's 404 and the
// health's 200 alternate, so a swap or a lost request shows).
void TstApiConformance::pipelinedBurstInOrder()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    RawClient c(env.port());
    QVERIFY(c.waitConnected());
    QByteArray burst;
    QList<int> expected;
    for (int i = 0; i < 20; ++i) {
        burst += i % 2 ? get("/api/v1/jobs/nope" + QByteArray::number(i)) : get("/api/v1/health");
        expected << (i % 2 ? 404 : 200);
    }
    c.socket.write(burst);
    QVERIFY2(QTest::qWaitFor([&] { return c.statuses().size() == expected.size(); }, 10'000), c.received.constData());
    QCOMPARE(c.statuses(), expected);
    for (int i = 1; i < 20; i += 2)
        QVERIFY(c.received.contains("nope" + QByteArray::number(i)));
}

void TstApiConformance::connectionClose_data()
{
    QTest::addColumn<QByteArray>("requests");
    QTest::newRow("Connection: close") << get("/api/v1/health", "Connection: close\r\n");
    QTest::newRow("Connection: token list") << get("/api/v1/health", "Connection: TE, Close\r\n");
    QTest::newRow("HTTP/1.0") << QByteArray("GET /api/v1/health HTTP/1.0\r\n\r\n");
    QTest::newRow("HTTP/1.0 with Host") << QByteArray("GET /api/v1/health HTTP/1.0\r\nHost: x\r\n\r\n");
    // A request pipelined after the last one is never answered.
    QTest::newRow("close, then more") << get("/api/v1/health", "Connection: close\r\n") + get("/status");
    QTest::newRow("POST close")
        << post("/update/text", R"({"text": "bye"})").replace("Host: x\r\n", "Host: x\r\nConnection: close\r\n")
            + get("/status");
}

// The server closes the connection after the answer to a request that asks for it (RFC 9112 §9.6) and says so
// in the answer; the answer itself is complete.
void TstApiConformance::connectionClose()
{
    QFETCH(QByteArray, requests);
    ApiTestEnv env;
    QVERIFY(env.ok());
    HttpLimits limits = env.server().limits();
    limits.idleTimeoutMs = 60'000; // only the request can close it
    env.server().setLimits(limits);
    RawClient c(env.port());
    QVERIFY(c.waitConnected());
    c.socket.write(requests);
    QVERIFY2(c.waitClosed(5000), c.received.constData());
    QCOMPARE(c.statuses(), QList<int>{200});
    QVERIFY2(c.received.contains("\r\nConnection: close\r\n"), c.received.constData());
    QVERIFY(c.received.endsWith("}"));
}

void TstApiConformance::keepAliveByDefault()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    RawClient c(env.port());
    QVERIFY(c.waitConnected());
    c.socket.write(get("/api/v1/health"));
    QVERIFY(c.waitFor("\"status\":\"ok\""));
    QVERIFY(!c.received.contains("Connection: close"));
    c.socket.write(get("/api/v1/health", "Connection: keep-alive\r\n"));
    QTRY_COMPARE_WITH_TIMEOUT(c.statuses().size(), 2, 5000);
    QVERIFY(!c.closed);
}

void TstApiConformance::strictHeads_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("code");
    const QByteArray line = "GET /api/v1/health HTTP/1.1\r\n";
    QTest::newRow("no Host") << line + "\r\n" << 400 << QByteArray("invalid_request");
    QTest::newRow("two Hosts") << line + "Host: a\r\nHost: b\r\n\r\n" << 400 << QByteArray("invalid_request");
    QTest::newRow("space before colon") << line + "Host : x\r\n\r\n" << 400 << QByteArray("invalid_request");
    QTest::newRow("no colon") << line + "Host: x\r\nX-Broken\r\n\r\n" << 400 << QByteArray("invalid_request");
    QTest::newRow("obs-fold") << line + "Host: x\r\nX-A: 1\r\n  continued\r\n\r\n"
                              << 400 << QByteArray("invalid_request");
    QTest::newRow("bad name char") << line + "Host: x\r\nX(a): 1\r\n\r\n" << 400 << QByteArray("invalid_request");
    QTest::newRow("NUL in value") << line + (QByteArray("Host: x\r\nX-A: a") + '\0' + "b\r\n\r\n") << 400
                                  << QByteArray("invalid_request");
    QTest::newRow("bare CR") << line + "Host: x\r\nX-A: a\rb\r\n\r\n" << 400 << QByteArray("invalid_request");
    QTest::newRow("signed length") << QByteArray(
        "POST /update/text HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\n{}")
                                   << 400 << QByteArray("invalid_request");
    QTest::newRow("two lengths") << QByteArray(
        "POST /update/text HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}")
                                 << 400 << QByteArray("invalid_request");
    QTest::newRow("space in target") << QByteArray("GET /api/v1/health x HTTP/1.1\r\nHost: x\r\n\r\n") << 400
                                     << QByteArray("invalid_request");
    QTest::newRow("no version") << QByteArray("GET /api/v1/health\r\nHost: x\r\n\r\n") << 400
                                << QByteArray("invalid_request");
    QTest::newRow("garbage") << QByteArray("GARBAGE\r\n\r\n") << 400 << QByteArray("invalid_request");
    QTest::newRow("HTTP/2.0") << QByteArray("GET /api/v1/health HTTP/2.0\r\nHost: x\r\n\r\n") << 505
                              << QByteArray("http_version_not_supported");
    QTest::newRow("HTTP/9.9") << QByteArray("GET /api/v1/health HTTP/9.9\r\nHost: x\r\n\r\n") << 505
                              << QByteArray("http_version_not_supported");
    QTest::newRow("HTTP/0.9") << QByteArray("GET /api/v1/health HTTP/0.9\r\n\r\n") << 505
                              << QByteArray("http_version_not_supported");
    // Still served: HTTP/1.0 without Host, an empty Host, tabs around a value.
    QTest::newRow("1.0 without Host") << QByteArray("GET /api/v1/health HTTP/1.0\r\n\r\n") << 200 << QByteArray();
    QTest::newRow("empty Host") << line + "Host:\r\n\r\n" << 200 << QByteArray();
    QTest::newRow("tab around value") << line + "Host:\tx \r\n\r\n" << 200 << QByteArray();
}

// Each refused head gets its status and a JSON error, and nothing reaches a route; the server carries on.
void TstApiConformance::strictHeads()
{
    QFETCH(QByteArray, request);
    QFETCH(int, status);
    QFETCH(QByteArray, code);
    ApiTestEnv env;
    QVERIFY(env.ok());
    const QString textBefore
        = env.draft().draft()[QStringLiteral("6")][QStringLiteral("inputs")][QStringLiteral("text")].toString();
    RawClient c(env.port());
    QVERIFY(c.waitConnected());
    c.socket.write(request);
    QVERIFY2(QTest::qWaitFor([&] { return !c.statuses().isEmpty() && c.received.endsWith("}"); }, 5000),
             c.received.constData());
    QCOMPARE(c.statuses().value(0), status);
    if (!code.isEmpty()) {
        QVERIFY2(c.received.contains("\"error\":{\"code\":\"" + code + "\""),
                 c.received.constData()); // legacy paths also carry STATUS
        QVERIFY(c.waitClosed());
    } else {
        QVERIFY(c.received.contains("\"status\":\"ok\""));
    }
    QCOMPARE(env.draft().draft()[QStringLiteral("6")][QStringLiteral("inputs")][QStringLiteral("text")].toString(),
             textBefore);
    QCOMPARE(env.call("GET", QStringLiteral("/api/v1/health")).status, 200);
}

QTEST_GUILESS_MAIN(TstApiConformance)
#include "tst_apiconformance.moc"
