// The simulator's control API (/sim/state, /sim/fault): every fault over HTTP, its state, its answers to bad
// input, and that it is answered while ordinary requests are stalled or delayed. Off by default (a 404 as in
// ComfyUI).

#include "tests/fake/fakecomfytesthelpers.h"

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QTest>
#include <QWebSocket>

#include <ctime>

using namespace cr::testing::fakecomfytest;

namespace {

// One keep-alive HTTP/1.1 connection written by hand, to send a request over a connection opened before a fault.
class RawConnection
{
public:
    bool open(quint16 port)
    {
        m_socket.connectToHost(QHostAddress::LocalHost, port);
        QSignalSpy connected(&m_socket, &QTcpSocket::connected);
        return m_socket.state() == QAbstractSocket::ConnectedState || connected.wait(5000);
    }
    // Sends one request and reads its answer (status and body); status 0 when none came.
    std::pair<int, QByteArray> request(const QByteArray &method, const QByteArray &path, const QByteArray &body = {})
    {
        m_socket.write(method + ' ' + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       + "Content-Length: " + QByteArray::number(body.size()) + "\r\n\r\n" + body);
        QByteArray in;
        QSignalSpy readable(&m_socket, &QIODevice::readyRead); // the server runs in this thread: spin the loop
        for (;;) {
            in += m_socket.readAll();
            const qsizetype end = in.indexOf("\r\n\r\n");
            if (end >= 0) {
                const QByteArray head = in.left(end).toLower();
                const qsizetype at = head.indexOf("content-length: ");
                const qsizetype length = at >= 0 ? head.mid(at + 16).split('\r').first().toLongLong() : 0;
                if (in.size() >= end + 4 + length)
                    return {in.mid(9, 3).toInt(), in.mid(end + 4, length)};
            }
            if (m_socket.state() != QAbstractSocket::ConnectedState || !readable.wait(5000))
                return {0, in};
        }
    }

private:
    QTcpSocket m_socket;
};

// Whether a new connection to the port is refused (QNetworkAccessManager could reuse a kept-alive one).
bool refuses(quint16 port)
{
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    const bool connected = socket.waitForConnected(5000);
    return !connected && socket.error() == QAbstractSocket::ConnectionRefusedError;
}

} // namespace

class TstFakeComfyControl : public QObject, protected FakeComfyHttpClient
{
    Q_OBJECT

private:
    HttpResult fault(const FakeComfy &fake, const QByteArray &body, int timeoutMs = 10000)
    {
        return http(fake, "POST", QStringLiteral("/sim/fault"), body, timeoutMs);
    }
    OrderedJson state(const FakeComfy &fake) { return http(fake, "GET", QStringLiteral("/sim/state")).json(); }

    static void prepare(FakeComfy &fake)
    {
        fake.setStepIntervalMs(1);
        fake.setSteps(2);
        fake.setPreviewsEnabled(false);
        fake.setControlApiEnabled(true);
    }

private slots:
    void initTestCase() { QVERIFY(m_workflowA.contains(u"3")); }

    // Without setControlApiEnabled the routes do not exist, as in ComfyUI.
    void offByDefault()
    {
        FakeComfy fake;
        QVERIFY(fake.listen());
        const HttpResult r = http(fake, "GET", QStringLiteral("/sim/state"));
        QCOMPARE(r.status, 404);
        QCOMPARE(r.body, QByteArray("404: Not Found"));
        fake.setControlApiEnabled(true);
        QCOMPARE(http(fake, "GET", QStringLiteral("/sim/state")).status, 200);
        fake.setControlApiEnabled(false);
        QCOMPARE(http(fake, "GET", QStringLiteral("/sim/state")).status, 404);
    }

    // GET /sim/state: name, prompts, models, the loaded checkpoint, options and faults.
    void stateReportsTheSimulator()
    {
        FakeComfy fake;
        prepare(fake);
        fake.setName(QStringLiteral("gpu7"));
        fake.setModelLoadMs(5);
        QVERIFY(fake.setModels(QStringLiteral("checkpoints"), {QStringLiteral("rand_sd15.safetensors")}));
        QVERIFY(fake.setModels(QStringLiteral("loras"), {QStringLiteral("x.safetensors")}));
        QVERIFY(fake.listen());
        const HttpResult first = http(fake, "GET", QStringLiteral("/sim/state"));
        QCOMPARE(first.status, 200);
        QCOMPARE(first.contentType, QByteArray("application/json; charset=utf-8"));
        OrderedJson s = first.json();
        QCOMPARE(s.value(u"name").toString(), QStringLiteral("gpu7"));
        QCOMPARE(s.value(u"port").toInt(), qint64(fake.port()));
        QVERIFY(s.value(u"running").isNull());
        QVERIFY(s.value(u"loaded_checkpoint").isNull());
        QCOMPARE(s.value(u"prompts_received").toInt(), 0);
        QCOMPARE(s.value(u"models").keys(), (QStringList{"checkpoints", "loras"}));
        QCOMPARE(s.value(u"models").value(u"loras").toStringList(), QStringList{"x.safetensors"});
        QCOMPARE(s.value(u"options").value(u"model_load_ms").toInt(), 5);
        QCOMPARE(s.value(u"faults").dump(),
                 QByteArray("{\"fail_next_prompt\": false, \"http_stalled\": false, \"refusing_connections\": false, "
                            "\"response_delay_ms\": 0, \"ws_silent\": false}"));

        WsProbe probe;
        QVERIFY(probe.open(fake.wsUrl(), newId(), true));
        fake.setSteps(100000); // the first prompt runs until interrupted; the second waits
        fake.setStepIntervalMs(20);
        const QString running = submit(fake, m_workflowA, probe.clientId);
        QVERIFY(probe.waitFor([](const Frame &f) { return f.type() == u"progress"; }));
        const QString waiting = submit(fake, m_workflowA, probe.clientId);
        s = state(fake);
        QCOMPARE(s.value(u"running").toString(), running);
        QCOMPARE(s.value(u"pending").toStringList(), QStringList{waiting});
        QCOMPARE(s.value(u"prompts_received").toInt(), 2);
        QCOMPARE(s.value(u"prompts_accepted").toInt(), 2);
        QCOMPARE(s.value(u"websockets").toInt(), 1);
        QCOMPARE(s.value(u"loaded_checkpoint").toString(), QStringLiteral("rand_sd15.safetensors"));
        QCOMPARE(s.value(u"model_loads").toInt(), 1);

        // GET /sim/prompts: every POST /prompt with when it was handled (CLOCK_MONOTONIC, this process's too).
        OrderedJson refusedGraph = m_workflowA;
        refusedGraph.find(u"4")->find(u"inputs")->insert(QStringLiteral("ckpt_name"), "missing.safetensors");
        QCOMPARE(http(fake, "POST", QStringLiteral("/prompt"),
                      OrderedJson::object({{QStringLiteral("prompt"), refusedGraph}}).dump())
                     .status,
                 400);
        timespec now{};
        clock_gettime(CLOCK_MONOTONIC, &now);
        const double nowNs = double(now.tv_sec) * 1e9 + double(now.tv_nsec);
        const OrderedJson arrivals = http(fake, "GET", QStringLiteral("/sim/prompts")).json().value(u"prompts");
        QCOMPARE(arrivals.size(), 3);
        QCOMPARE(arrivals.at(0).value(u"prompt_id").toString(), running);
        QCOMPARE(arrivals.at(1).value(u"prompt_id").toString(), waiting);
        QVERIFY(arrivals.at(2).value(u"prompt_id").isNull());
        QCOMPARE(arrivals.at(2).value(u"status").toInt(), 400);
        QCOMPARE(arrivals.at(0).value(u"status").toInt(), 200);
        const double firstNs = arrivals.at(0).value(u"received_mono_ns").toDouble();
        QVERIFY(firstNs > 0);
        QVERIFY(arrivals.at(1).value(u"received_mono_ns").toDouble() >= firstNs);
        QVERIFY(arrivals.at(2).value(u"received_mono_ns").toDouble() <= nowNs);
        QVERIFY(arrivals.at(0).value(u"finished_mono_ns").isNull()); // still running
        QCOMPARE(http(fake, "POST", QStringLiteral("/queue"), "{\"clear\": true}").status, 200);
        QCOMPARE(http(fake, "POST", QStringLiteral("/interrupt")).status, 200);
        QVERIFY(probe.waitDone(running) >= 0);
        // Its run has ended (interrupted): when, on the same clock.
        const OrderedJson ended = http(fake, "GET", QStringLiteral("/sim/prompts")).json().value(u"prompts");
        QVERIFY(ended.at(0).value(u"finished_mono_ns").toDouble() >= firstNs);
        QVERIFY(ended.at(1).value(u"finished_mono_ns").isNull()); // cleared before it ran
        s = state(fake);
        QVERIFY(s.value(u"running").isNull());
        QCOMPARE(s.value(u"history").toInt(), 1);
    }

    // Bad input gets a JSON error with a stable code.
    void badInput_data()
    {
        QTest::addColumn<QByteArray>("method");
        QTest::addColumn<QString>("path");
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("code");
        QTest::addColumn<QString>("detail"); // details.field or details.parameter, "" = not checked
        auto row = [](const char *name, QByteArray method, const char *path, QByteArray body, int status,
                      const char *code, const char *detail) {
            QTest::newRow(name) << method << QString::fromLatin1(path) << body << status << QString::fromLatin1(code)
                                << QString::fromLatin1(detail);
        };
        row("not json", "POST", "/sim/fault", "{fault", 400, "invalid_json", "");
        row("empty body", "POST", "/sim/fault", "", 400, "invalid_json", "");
        row("array", "POST", "/sim/fault", "[\"restart\"]", 400, "invalid_json", "");
        row("no fault", "POST", "/sim/fault", "{}", 400, "missing_field", "fault");
        row("unknown fault", "POST", "/sim/fault", "{\"fault\": \"explode\"}", 400, "invalid_field", "fault");
        row("fault not a string", "POST", "/sim/fault", "{\"fault\": 3}", 400, "invalid_field", "fault");
        row("unknown parameter", "POST", "/sim/fault", "{\"fault\": \"stall_http\", \"ms\": 5}", 400,
            "unknown_parameter", "ms");
        row("negative ms", "POST", "/sim/fault", "{\"fault\": \"delay_http\", \"ms\": -1}", 400, "invalid_field", "ms");
        row("fractional ms", "POST", "/sim/fault", "{\"fault\": \"refuse_connections\", \"ms\": 1.5}", 400,
            "invalid_field", "ms");
        row("string ms", "POST", "/sim/fault", "{\"fault\": \"restart\", \"down_ms\": \"5\"}", 400, "invalid_field",
            "down_ms");
        row("huge ms", "POST", "/sim/fault", "{\"fault\": \"delay_http\", \"ms\": 1e12}", 400, "invalid_field", "ms");
        row("delay without ms", "POST", "/sim/fault", "{\"fault\": \"delay_http\"}", 400, "missing_field", "ms");
        row("node not a string", "POST", "/sim/fault", "{\"fault\": \"fail_next_prompt\", \"node\": 8}", 400,
            "invalid_field", "node");
        row("GET fault", "GET", "/sim/fault", "", 405, "method_not_allowed", "");
        row("POST state", "POST", "/sim/state", "{}", 405, "method_not_allowed", "");
        row("unknown route", "GET", "/sim/nope", "", 404, "not_found", "");
    }
    void badInput()
    {
        QFETCH(QByteArray, method);
        QFETCH(QString, path);
        QFETCH(QByteArray, body);
        QFETCH(int, status);
        QFETCH(QString, code);
        QFETCH(QString, detail);
        FakeComfy fake;
        prepare(fake);
        QVERIFY(fake.listen());
        const HttpResult r = http(fake, method, path, body);
        QCOMPARE(r.status, status);
        QCOMPARE(r.contentType, QByteArray("application/json; charset=utf-8"));
        const OrderedJson error = r.json().value(u"error");
        QCOMPARE(error.value(u"code").toString(), code);
        QVERIFY(!error.value(u"message").toString().isEmpty());
        if (!detail.isEmpty()) {
            const OrderedJson details = error.value(u"details");
            QCOMPARE(details.contains(u"field") ? details.value(u"field").toString()
                                                : details.value(u"parameter").toString(),
                     detail);
        }
        // Nothing changed.
        QCOMPARE(state(fake).value(u"faults").value(u"http_stalled").toBool(), false);
        QCOMPARE(state(fake).value(u"faults").value(u"response_delay_ms").toInt(), 0);
        QVERIFY(fake.isListening());
    }

    // drop_websockets aborts every socket; restart forgets everything and cuts the connection after answering.
    void dropAndRestart()
    {
        FakeComfy fake;
        prepare(fake);
        QVERIFY(fake.listen());
        WsProbe probe;
        QVERIFY(probe.open(fake.wsUrl(), newId(), true));
        QSignalSpy dropped(&probe.ws, &QWebSocket::disconnected);
        const HttpResult drop = fault(fake, "{\"fault\": \"drop_websockets\"}");
        QCOMPARE(drop.status, 200);
        QCOMPARE(drop.body, QByteArray("{\"fault\":\"drop_websockets\",\"ok\":true}"));
        QVERIFY(dropped.count() == 1 || dropped.wait(5000));

        WsProbe second;
        QVERIFY(second.open(fake.wsUrl(), newId(), true));
        const QString id = submit(fake, m_workflowA, second.clientId);
        QVERIFY(second.waitDone(id) >= 0);
        QCOMPARE(fake.historyIds(), QStringList{id});
        QSignalSpy closed(&second.ws, &QWebSocket::disconnected);
        const HttpResult restart = fault(fake, "{\"fault\": \"restart\"}");
        QCOMPARE(restart.status, 200);
        QCOMPARE(restart.body, QByteArray("{\"fault\":\"restart\",\"ok\":true}"));
        QVERIFY(closed.count() == 1 || closed.wait(5000));
        QVERIFY(fake.historyIds().isEmpty());
        QCOMPARE(fake.loadedCheckpoint(), QString());
        QCOMPARE(http(fake, "GET", QStringLiteral("/history")).body, QByteArray("{}"));
    }

    // restart with down_ms refuses connections for that long, then the same port answers again.
    void restartWithDowntime()
    {
        FakeComfy fake;
        prepare(fake);
        QVERIFY(fake.listen());
        const quint16 port = fake.port();
        QElapsedTimer timer;
        timer.start();
        QCOMPARE(fault(fake, "{\"fault\": \"restart\", \"down_ms\": 400}").status, 200);
        QTRY_VERIFY_WITH_TIMEOUT(!fake.isListening(), 5000);
        QVERIFY(refuses(port));
        QTRY_VERIFY_WITH_TIMEOUT(fake.isListening(), 10000);
        QVERIFY(timer.elapsed() >= 400);
        QCOMPARE(fake.port(), port);
        QCOMPARE(http(fake, "GET", QStringLiteral("/queue")).status, 200);
    }

    // refuse_connections: new connections are refused; an open keep-alive connection still reaches /sim/
    // (accept_connections), and with "ms" the port comes back by itself.
    void refuseAndAccept()
    {
        FakeComfy fake;
        prepare(fake);
        QVERIFY(fake.listen());
        RawConnection kept;
        QVERIFY(kept.open(fake.port()));
        QCOMPARE(kept.request("GET", "/sim/state").first, 200);
        QCOMPARE(kept.request("POST", "/sim/fault", "{\"fault\": \"refuse_connections\"}").first, 200);
        QVERIFY(refuses(fake.port()));
        const auto [status, body] = kept.request("GET", "/sim/state");
        QCOMPARE(status, 200);
        QVERIFY(OrderedJson::parse(body)->value(u"faults").value(u"refusing_connections").toBool());
        QCOMPARE(kept.request("POST", "/sim/fault", "{\"fault\": \"accept_connections\"}").first, 200);
        QCOMPARE(http(fake, "GET", QStringLiteral("/queue")).status, 200);

        QCOMPARE(kept.request("POST", "/sim/fault", "{\"fault\": \"refuse_connections\", \"ms\": 300}").first, 200);
        QVERIFY(refuses(fake.port()));
        QTRY_VERIFY_WITH_TIMEOUT(fake.isListening(), 10000);
        QCOMPARE(http(fake, "GET", QStringLiteral("/queue")).status, 200);

        // A timer of an older refusal does not end a newer one.
        QCOMPARE(kept.request("POST", "/sim/fault", "{\"fault\": \"refuse_connections\", \"ms\": 200}").first, 200);
        QCOMPARE(kept.request("POST", "/sim/fault", "{\"fault\": \"refuse_connections\"}").first, 200);
        QSignalSpy never(&fake, &FakeComfy::promptQueued);
        QVERIFY(!never.wait(500)); // past the first refusal's 200 ms
        QVERIFY(!fake.isListening());
        QVERIFY(refuses(fake.port()));
        QCOMPARE(kept.request("POST", "/sim/fault", "{\"fault\": \"accept_connections\"}").first, 200);
        QVERIFY(fake.isListening());
    }

    // stall_http: ordinary requests are never answered, /sim/ still is; delay_http delays them, not /sim/.
    void stallAndDelay()
    {
        FakeComfy fake;
        prepare(fake);
        QVERIFY(fake.listen());
        QCOMPARE(fault(fake, "{\"fault\": \"stall_http\"}").status, 200);
        const HttpResult stalled = http(fake, "GET", QStringLiteral("/prompt"), {}, 300);
        QCOMPARE(stalled.status, 0);
        QVERIFY(stalled.error != QNetworkReply::NoError);
        QVERIFY(state(fake).value(u"faults").value(u"http_stalled").toBool());
        QCOMPARE(fault(fake, "{\"fault\": \"unstall_http\"}").status, 200);
        QCOMPARE(http(fake, "GET", QStringLiteral("/prompt")).status, 200);

        QCOMPARE(fault(fake, "{\"fault\": \"delay_http\", \"ms\": 1500}").status, 200);
        QCOMPARE(fake.responseDelay(), 1500);
        QElapsedTimer timer;
        timer.start();
        QCOMPARE(state(fake).value(u"faults").value(u"response_delay_ms").toInt(), 1500);
        QVERIFY2(timer.elapsed() < 1500, qPrintable(QString::number(timer.elapsed())));
        timer.restart();
        QCOMPARE(http(fake, "GET", QStringLiteral("/prompt")).status, 200);
        QVERIFY(timer.elapsed() >= 1500);
        QCOMPARE(fault(fake, "{\"fault\": \"delay_http\", \"ms\": 0}").status, 200);
        QCOMPARE(fake.responseDelay(), 0);
    }

    // ws_silent makes every WebSocket half-open; ws_unsilent spares new ones.
    void silentWebSockets()
    {
        FakeComfy fake;
        prepare(fake);
        QVERIFY(fake.listen());
        WsProbe silent;
        QVERIFY(silent.open(fake.wsUrl(), newId(), true));
        QCOMPARE(fault(fake, "{\"fault\": \"ws_silent\"}").status, 200);
        QVERIFY(state(fake).value(u"faults").value(u"ws_silent").toBool());
        QSignalSpy pong(&silent.ws, &QWebSocket::pong);
        silent.ws.ping();
        QVERIFY(!pong.wait(300));
        QCOMPARE(fault(fake, "{\"fault\": \"ws_unsilent\"}").status, 200);
        WsProbe fresh;
        QVERIFY(fresh.open(fake.wsUrl(), newId(), false));
        QSignalSpy freshPong(&fresh.ws, &QWebSocket::pong);
        fresh.ws.ping();
        QVERIFY(freshPong.wait(5000));
    }

    // fail_next_prompt: the next prompt raises RuntimeError at the node, with the message; the one after runs.
    void failNextPrompt()
    {
        FakeComfy fake;
        prepare(fake);
        QVERIFY(fake.listen());
        WsProbe probe;
        QVERIFY(probe.open(fake.wsUrl(), newId(), true));
        QCOMPARE(fault(fake, "{\"fault\": \"fail_next_prompt\", \"node\": \"8\", \"message\": \"boom\"}").status, 200);
        QVERIFY(state(fake).value(u"faults").value(u"fail_next_prompt").toBool());
        const QString id = submit(fake, m_workflowA, probe.clientId);
        const qsizetype done = probe.waitDone(id);
        QVERIFY(done >= 0);
        const qsizetype failed = probe.indexOf([](const Frame &f) { return f.type() == u"execution_error"; });
        QVERIFY(failed >= 0 && failed < done);
        QCOMPARE(probe.frames.at(failed).data().value(u"node_id").toString(), QStringLiteral("8"));
        QCOMPARE(probe.frames.at(failed).data().value(u"exception_message").toString(), QStringLiteral("boom\n"));
        QVERIFY(!state(fake).value(u"faults").value(u"fail_next_prompt").toBool());

        QCOMPARE(fault(fake, "{\"fault\": \"fail_next_prompt\"}").status, 200); // first node, default message
        const QString second = submit(fake, m_workflowA, probe.clientId);
        QVERIFY(probe.waitDone(second, done + 1) >= 0);
        QCOMPARE(http(fake, "GET", QStringLiteral("/history/") + second)
                     .json()
                     .value(second)
                     .value(u"status")
                     .value(u"status_str")
                     .toString(),
                 QStringLiteral("error"));
        const QString third = submit(fake, m_workflowA, probe.clientId);
        QVERIFY(probe.waitDone(third, done + 1) >= 0);
        QCOMPARE(http(fake, "GET", QStringLiteral("/history/") + third)
                     .json()
                     .value(third)
                     .value(u"status")
                     .value(u"status_str")
                     .toString(),
                 QStringLiteral("success"));
    }
};

QTEST_MAIN(TstFakeComfyControl)
#include "tst_fakecomfycontrol.moc"
