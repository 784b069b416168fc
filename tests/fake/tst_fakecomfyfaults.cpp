// The fake ComfyUI when things go wrong: runtime errors, reconnect hints, overlapping sockets of one clientId,
// restart() and the fault-injection knobs (refused, delayed, stalled, dropped and silent connections).

#include "tests/fake/fakecomfytesthelpers.h"

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTest>
#include <QWebSocket>

using namespace cr::testing::fakecomfytest;

class TstFakeComfyFaults : public QObject, protected FakeComfyHttpClient
{
    Q_OBJECT

private slots:
    void initTestCase() { QVERIFY(m_workflowA.contains(u"3")); }

    // A runtime error (capture D2's corrupt checkpoint) has ComfyUI's execution_error fields.
    void runtimeError()
    {
        const auto capture = Capture::load(QStringLiteral("D_runtime_error"));
        QVERIFY(capture);
        const QList<Frame> real = captureRun(*capture, QStringLiteral("c1"), 1);
        const qsizetype realAt = types(real).indexOf(QStringLiteral("execution_error"));
        QVERIFY(realAt >= 0);

        FakeComfy fake;
        QVERIFY(fake.listen());
        WsProbe probe;
        QVERIFY(probe.open(fake.wsUrl(), newId(), true));
        const QString id = submit(fake, workflowOf(*capture, 1), probe.clientId); // D2: broken_ckpt.safetensors
        const qsizetype done = probe.waitDone(id);
        QVERIFY(done >= 0);
        const qsizetype at = types(probe.frames).indexOf(QStringLiteral("execution_error"));
        QVERIFY(at >= 0 && at < done);
        const OrderedJson data = probe.frames.at(at).data(); // a copy: frames grows while we wait
        QCOMPARE(data.keys(), real.at(realAt).data().keys());
        QCOMPARE(data.value(u"node_id").toString(), QStringLiteral("4"));
        QCOMPARE(data.value(u"exception_type").toString(), real.at(realAt).data().value(u"exception_type").toString());
        QVERIFY(data.value(u"exception_message").toString().endsWith(u'\n'));
        QCOMPARE(types(probe.frames.mid(at - 2, 5)),
                 (QStringList{"progress_state", "executing", "execution_error", "status", "executing"}));

        fake.failNextPrompt(QStringLiteral("8"), QStringLiteral("boom"));
        const QString second = submit(fake, m_workflowA, probe.clientId);
        const qsizetype end = probe.waitDone(second, done + 1);
        QVERIFY(end >= 0);
        const qsizetype failed = probe.indexOf([](const Frame &f) { return f.type() == u"execution_error"; }, done + 1);
        QVERIFY(failed >= 0 && failed < end);
        QCOMPARE(probe.frames.at(failed).data().value(u"node_id").toString(), QStringLiteral("8"));
        QCOMPARE(probe.frames.at(failed).data().value(u"exception_message").toString(), QStringLiteral("boom\n"));
        QCOMPARE(probe.frames.at(failed).data().value(u"executed").size(), 5);
    }

    // Reconnecting with the same clientId mid-run gives status + the `executing {node}` hint (no prompt_id).
    void reconnectHint()
    {
        FakeComfy fake;
        fake.setStepIntervalMs(20);
        fake.setSteps(200);
        fake.setPreviewsEnabled(false);
        QVERIFY(fake.listen());
        const QString clientId = newId();
        auto first = std::make_unique<WsProbe>();
        QVERIFY(first->open(fake.wsUrl(), clientId, true));
        const QString id = submit(fake, m_workflowA, clientId);
        QVERIFY(first->waitFor([](const Frame &f) { return f.type() == u"progress"; }));
        QSignalSpy gone(&fake, &FakeComfy::webSocketDisconnected);
        first->ws.close();
        QVERIFY(gone.wait(5000));
        first.reset();

        WsProbe second;
        QVERIFY(second.open(fake.wsUrl(), clientId, false));
        QVERIFY(second.waitFor([](const Frame &f) { return f.type() == u"progress"; }));
        QCOMPARE(second.frames.at(0).data().value(u"sid").toString(), clientId);
        QCOMPARE(second.frames.at(0).data().value(u"status").value(u"exec_info").value(u"queue_remaining").toInt(), 1);
        QCOMPARE(second.frames.at(1).bytes, QByteArray("{\"type\": \"executing\", \"data\": {\"node\": \"3\"}}"));
        QCOMPARE(http(fake, "POST", QStringLiteral("/interrupt")).status, 200);
        QVERIFY(second.waitDone(id) >= 0);
    }

    // Two sockets with one clientId (capture K3): the newer replaces the older; when the older closes, the
    // registry entry goes and neither gets anything more.
    void overlappingSocketsGoSilent()
    {
        FakeComfy fake;
        QVERIFY(fake.listen());
        const QString clientId = newId();
        auto a = std::make_unique<WsProbe>();
        WsProbe b;
        QVERIFY(a->open(fake.wsUrl(), clientId, false));
        QVERIFY(b.open(fake.wsUrl(), clientId, false));
        WsProbe watcher;
        QVERIFY(watcher.open(fake.wsUrl(), QString(), false));
        QCOMPARE(watcher.frames.at(0).data().value(u"sid").toString().size(), 32); // uuid4().hex
        QCOMPARE(fake.webSocketCount(), 3);

        const qsizetype aBefore = a->frames.size(), bBefore = b.frames.size();
        http(fake, "POST", QStringLiteral("/queue"), "{\"clear\": true}");
        QVERIFY(watcher.waitFor([](const Frame &f) { return f.type() == u"status" && !f.data().contains(u"sid"); }));
        QVERIFY(b.waitFor([](const Frame &f) { return !f.data().contains(u"sid"); }, bBefore));
        QSignalSpy aPong(&a->ws, &QWebSocket::pong); // a pong comes after any frame sent before it
        a->ws.ping();
        QVERIFY(aPong.wait(5000));
        QCOMPARE(a->frames.size(), aBefore);

        QSignalSpy gone(&fake, &FakeComfy::webSocketDisconnected);
        a->ws.close();
        QVERIFY(gone.wait(5000));
        const qsizetype bAfter = b.frames.size(), watcherAfter = watcher.frames.size();
        http(fake, "POST", QStringLiteral("/queue"), "{\"clear\": true}");
        QVERIFY(watcher.waitFor([](const Frame &) { return true; }, watcherAfter));
        QSignalSpy bPong(&b.ws, &QWebSocket::pong);
        b.ws.ping();
        QVERIFY(bPong.wait(5000));
        QCOMPARE(b.frames.size(), bAfter);
        QCOMPARE(fake.clearRequests(), 2);
    }

    // restart() forgets queue and history, drops sockets, restarts the prompt counter, keeps the port.
    void restartForgets()
    {
        FakeComfy fake;
        fake.setStepIntervalMs(1);
        fake.setPreviewsEnabled(false);
        QVERIFY(fake.listen());
        const quint16 port = fake.port();
        WsProbe probe;
        QVERIFY(probe.open(fake.wsUrl(), newId(), false));
        const QString id = submit(fake, m_workflowA, probe.clientId);
        QVERIFY(probe.waitDone(id) >= 0);
        QCOMPARE(http(fake, "GET", QStringLiteral("/history")).json().keys(), QStringList{id});

        QSignalSpy closed(&probe.ws, &QWebSocket::disconnected);
        fake.restart();
        QVERIFY(closed.wait(5000));
        QCOMPARE(fake.port(), port);
        QCOMPARE(http(fake, "GET", QStringLiteral("/history/") + id).body, QByteArray("{}"));
        QCOMPARE(http(fake, "GET", QStringLiteral("/history")).body, QByteArray("{}"));
        const HttpResult again = http(fake, "POST", QStringLiteral("/prompt"),
                                      OrderedJson::object({{QStringLiteral("prompt"), m_workflowA}}).dump());
        QCOMPARE(again.json().value(u"number").toInt(), 0);
        QCOMPARE(fake.webSocketCount(), 0);
    }

    // Fault knobs: refused connections on the same port, delayed and stalled answers, dropped sockets,
    // half-open (silent) sockets.
    void faults()
    {
        FakeComfy fake;
        fake.setStepIntervalMs(1);
        fake.setPreviewsEnabled(false);
        QVERIFY(fake.listen());

        QVERIFY(fake.setRefuseConnections(true));
        QCOMPARE(http(fake, "GET", QStringLiteral("/queue")).error, QNetworkReply::ConnectionRefusedError);
        QVERIFY(fake.setRefuseConnections(false));
        QCOMPARE(http(fake, "GET", QStringLiteral("/queue")).status, 200);

        fake.setResponseDelay(150);
        QElapsedTimer timer;
        timer.start();
        QCOMPARE(http(fake, "GET", QStringLiteral("/prompt")).status, 200);
        QVERIFY(timer.elapsed() >= 150);
        fake.setResponseDelay(0);

        fake.setStallHttp(true);
        const HttpResult stalled = http(fake, "GET", QStringLiteral("/prompt"), {}, 300);
        QCOMPARE(stalled.status, 0);
        QVERIFY(stalled.error != QNetworkReply::NoError);
        fake.setStallHttp(false);
        QCOMPARE(http(fake, "GET", QStringLiteral("/prompt")).status, 200);

        WsProbe dropped;
        QVERIFY(dropped.open(fake.wsUrl(), newId(), false));
        QSignalSpy droppedSpy(&dropped.ws, &QWebSocket::disconnected);
        fake.dropWebSockets();
        QVERIFY(droppedSpy.wait(5000));

        WsProbe silent;
        QVERIFY(silent.open(fake.wsUrl(), newId(), true));
        fake.setWsSilent(true);
        QSignalSpy pong(&silent.ws, &QWebSocket::pong);
        silent.ws.ping();
        QVERIFY(!pong.wait(300));
        const qsizetype before = silent.frames.size();
        QSignalSpy finished(&fake, &FakeComfy::promptFinished);
        submit(fake, m_workflowA, silent.clientId);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 10000);
        QCOMPARE(silent.frames.size(), before);
        fake.setWsSilent(false);
        WsProbe fresh;
        QVERIFY(fresh.open(fake.wsUrl(), newId(), false));
        QSignalSpy freshPong(&fresh.ws, &QWebSocket::pong);
        fresh.ws.ping();
        QVERIFY(freshPong.wait(5000));
    }
};

QTEST_MAIN(TstFakeComfyFaults)
#include "tst_fakecomfyfaults.moc"
