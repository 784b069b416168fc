// ComfyClient against the fake ComfyUI on port 0: runs, errors, interrupt, queue delete, reconnects with
// reconciliation, ComfyUI down at start, half-open detection, timeouts, and captured traffic replayed
// through the real connection and parsers.

#include "core/comfy/comfyclient.h"
#include "sim/capture.h"
#include "sim/fakecomfy.h"
#include "tests/comfy/comfyclienttesthelpers.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QtTest>

using namespace cr;
using cr::sim::FakeComfy;

using namespace cr::comfytest;

class TstComfyClient : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void runToCompletion();
    void validationErrorKeptIntact();
    void runtimeError();
    void targetedInterrupt();
    void queueDelete();
    void reconnectFinishedWhileAway();
    void reconnectLost();
    void comfyDownAtStart();
    void halfOpenDetected();
    void httpTimeoutAndUnreachable();
    void capturedTrafficThroughTheClient_data();
    void capturedTrafficThroughTheClient();

private:
    ClientFixture m_f;
};

void TstComfyClient::init() { QVERIFY(m_f.setUp(10, QStringLiteral("test-client"))); }

void TstComfyClient::cleanup() { m_f.tearDown(); }

void TstComfyClient::runToCompletion()
{
    Recorder rec(*m_f.client);
    QVERIFY(m_f.connectClient());
    const QString id = submitOk(*m_f.client, m_f.graph);
    QVERIFY(!id.isEmpty());
    QVERIFY(m_f.client->isTracked(id));
    QTRY_VERIFY_WITH_TIMEOUT(rec.outcome(id), 10000);
    const PromptOutcome &o = *rec.outcome(id);
    QCOMPARE(o.status, PromptOutcome::Status::Succeeded);
    QCOMPARE(o.files.size(), 1);
    QCOMPARE(o.files[0].nodeId, QStringLiteral("9"));
    QCOMPARE(o.files[0].file.type, QStringLiteral("output"));
    QVERIFY(o.files[0].file.filename.endsWith(QLatin1String(".png")));
    QVERIFY(!m_f.client->isTracked(id));

    // The prompt went out with our id, our client id and the configured preview method.
    const QJsonObject body = m_f.fake->lastPromptBody();
    QCOMPARE(body.value(QLatin1String("prompt_id")).toString(), id);
    QCOMPARE(body.value(QLatin1String("client_id")).toString(), QStringLiteral("test-client"));
    QCOMPARE(body.value(QLatin1String("extra_data")).toObject().value(QLatin1String("preview_method")).toString(),
             QStringLiteral("auto"));

    // Every event of the run arrived, in ComfyUI's order, ending with executing null.
    const QStringList types = rec.typesFor(id);
    QCOMPARE(types.first(), QStringLiteral("execution_start"));
    QCOMPARE(types.count(QStringLiteral("progress")), 4);
    QVERIFY(types.contains(QStringLiteral("executed")));
    QCOMPARE(types.last(), QStringLiteral("executing"));
    // Type-4 previews name their prompt and node, and are real JPEGs.
    QCOMPARE(rec.previews.size(), 4);
    for (const auto &p : rec.previews) {
        QVERIFY(p.hadMetadata);
        QCOMPARE(p.meta.promptId, id);
        QCOMPARE(p.meta.nodeId, QStringLiteral("3"));
        QVERIFY(p.image.startsWith("\xFF\xD8\xFF"));
    }

    // The output can be fetched with the streamed /view.
    QNetworkReply *reply = m_f.client->http()->openView(o.files[0].file);
    QSignalSpy done(reply, &QNetworkReply::finished);
    QVERIFY(done.wait(5000));
    QVERIFY(reply->readAll().startsWith("\x89PNG"));
    delete reply;
}

void TstComfyClient::validationErrorKeptIntact()
{
    QVERIFY(m_f.connectClient());
    QJsonObject graph = m_f.graph;
    QJsonObject ksampler = graph.value(QLatin1String("3")).toObject();
    QJsonObject inputs = ksampler.value(QLatin1String("inputs")).toObject();
    inputs.remove(QStringLiteral("seed"));
    ksampler.insert(QStringLiteral("inputs"), inputs);
    graph.insert(QStringLiteral("3"), ksampler);
    const QString id = ComfyClient::newPromptId();
    std::optional<Result<SubmitAck>> result;
    m_f.client->submit(id, graph, [&result](Result<SubmitAck> r) { result = r; });
    QTRY_VERIFY_WITH_TIMEOUT(result.has_value(), 5000);
    QVERIFY(!result->ok());
    const Error &e = result->error();
    QCOMPARE(e.code, QStringLiteral("comfy_validation"));
    QCOMPARE(e.details.value(QLatin1String("error")).toObject().value(QLatin1String("type")).toString(),
             QStringLiteral("prompt_outputs_failed_validation"));
    const QJsonObject nodeErrors = e.details.value(QLatin1String("node_errors")).toObject();
    const QJsonObject err3
        = nodeErrors.value(QLatin1String("3")).toObject().value(QLatin1String("errors")).toArray().at(0).toObject();
    QCOMPARE(err3.value(QLatin1String("type")).toString(), QStringLiteral("required_input_missing"));
    QCOMPARE(err3.value(QLatin1String("extra_info")).toObject().value(QLatin1String("input_name")).toString(),
             QStringLiteral("seed"));
    QVERIFY(!m_f.client->isTracked(id));
}

void TstComfyClient::runtimeError()
{
    Recorder rec(*m_f.client);
    QVERIFY(m_f.connectClient());
    QJsonObject graph = m_f.graph;
    QJsonObject node = graph.value(QLatin1String("6")).toObject();
    QJsonObject inputs = node.value(QLatin1String("inputs")).toObject();
    inputs.insert(QStringLiteral("text"), QStringLiteral("__fail__"));
    node.insert(QStringLiteral("inputs"), inputs);
    graph.insert(QStringLiteral("6"), node);
    const QString id = submitOk(*m_f.client, graph);
    QVERIFY(!id.isEmpty());
    QTRY_VERIFY_WITH_TIMEOUT(rec.outcome(id), 10000);
    const PromptOutcome &o = *rec.outcome(id);
    QCOMPARE(o.status, PromptOutcome::Status::Failed);
    QVERIFY(o.error.has_value());
    QCOMPARE(o.error->nodeId, QStringLiteral("6"));
    QCOMPARE(o.error->nodeType, QStringLiteral("CLIPTextEncode"));
    QVERIFY(!o.error->exceptionMessage.isEmpty());
    QVERIFY(!o.reason.isEmpty());
}

void TstComfyClient::targetedInterrupt()
{
    Recorder rec(*m_f.client);
    QVERIFY(m_f.connectClient());
    m_f.fake->setSteps(200);
    const QString id = submitOk(*m_f.client, m_f.graph);
    QTRY_VERIFY_WITH_TIMEOUT(rec.typesFor(id).contains(QStringLiteral("progress")), 5000);
    m_f.client->cancel(id);
    QTRY_VERIFY_WITH_TIMEOUT(rec.outcome(id), 5000);
    QCOMPARE(rec.outcome(id)->status, PromptOutcome::Status::Interrupted);
    // Never a global interrupt: only our prompt was named.
    QCOMPARE(m_f.fake->interruptRequests(), QStringList{id});
}

void TstComfyClient::queueDelete()
{
    Recorder rec(*m_f.client);
    QVERIFY(m_f.connectClient());
    m_f.fake->setSteps(100);
    const QString running = submitOk(*m_f.client, m_f.graph);
    const QString pending = submitOk(*m_f.client, m_f.graph);
    QTRY_COMPARE_WITH_TIMEOUT(m_f.fake->pendingPromptIds(), QStringList{pending}, 5000);
    m_f.client->cancel(pending);
    QTRY_VERIFY_WITH_TIMEOUT(rec.outcome(pending), 5000);
    QCOMPARE(rec.outcome(pending)->status, PromptOutcome::Status::Cancelled);
    QCOMPARE(m_f.fake->deleteRequests(), QStringList{pending});
    QVERIFY(m_f.fake->pendingPromptIds().isEmpty());
    QVERIFY(m_f.client->isTracked(running)); // the other prompt is untouched
    QCOMPARE(m_f.fake->runningPromptId(), running);
}

void TstComfyClient::reconnectFinishedWhileAway()
{
    Recorder rec(*m_f.client);
    QVERIFY(m_f.connectClient());
    m_f.fake->setSteps(10);
    m_f.fake->setStepIntervalMs(30);
    const QString id = submitOk(*m_f.client, m_f.graph);
    QTRY_VERIFY_WITH_TIMEOUT(rec.typesFor(id).contains(QStringLiteral("progress")), 5000);
    // ComfyUI becomes unreachable mid-run; the run finishes while the client is away.
    QSignalSpy finished(m_f.fake.get(), &FakeComfy::promptFinished);
    QVERIFY(m_f.fake->setRefuseConnections(true));
    m_f.fake->dropWebSockets();
    QTRY_COMPARE_WITH_TIMEOUT(m_f.client->state(), ConnectionState::Disconnected, 5000);
    QVERIFY(finished.wait(5000));
    QVERIFY(!rec.outcome(id)); // nothing could be known yet
    QVERIFY(m_f.fake->setRefuseConnections(false));
    QTRY_VERIFY_WITH_TIMEOUT(rec.outcome(id), 10000);
    const PromptOutcome &o = *rec.outcome(id);
    QCOMPARE(o.status, PromptOutcome::Status::Succeeded);
    QCOMPARE(o.files.size(), 1);
    // Its events may be missing: the outcome was read back from ComfyUI's record.
    QCOMPARE(o.source, PromptOutcome::Source::History);
    QVERIFY(m_f.fake->requestLog().contains(QStringLiteral("GET /history/") + id));
}

void TstComfyClient::reconnectLost()
{
    Recorder rec(*m_f.client);
    QVERIFY(m_f.connectClient());
    m_f.fake->setSteps(500);
    const QString id = submitOk(*m_f.client, m_f.graph);
    QTRY_VERIFY_WITH_TIMEOUT(rec.typesFor(id).contains(QStringLiteral("progress")), 5000);
    m_f.fake->restart(); // ComfyUI restarted: queue and history are gone
    QTRY_VERIFY_WITH_TIMEOUT(rec.outcome(id), 10000);
    QCOMPARE(rec.outcome(id)->status, PromptOutcome::Status::Lost);
    QVERIFY(rec.outcome(id)->reason.contains(QStringLiteral("does not know")));
    QTRY_COMPARE_WITH_TIMEOUT(m_f.client->state(), ConnectionState::Connected, 5000);
}

void TstComfyClient::comfyDownAtStart()
{
    QVERIFY(m_f.fake->setRefuseConnections(true));
    Recorder rec(*m_f.client);
    m_f.client->start();
    // It keeps trying (connecting -> disconnected, several times) without giving up.
    QTRY_VERIFY_WITH_TIMEOUT(rec.states.count(ConnectionState::Connecting) >= 3, 5000);
    QVERIFY(!rec.states.contains(ConnectionState::Connected));
    QVERIFY(m_f.fake->setRefuseConnections(false));
    QTRY_COMPARE_WITH_TIMEOUT(m_f.client->state(), ConnectionState::Connected, 5000);
    const QString id = submitOk(*m_f.client, m_f.graph);
    QTRY_VERIFY_WITH_TIMEOUT(rec.outcome(id), 10000);
    QCOMPARE(rec.outcome(id)->status, PromptOutcome::Status::Succeeded);
}

void TstComfyClient::halfOpenDetected()
{
    Recorder rec(*m_f.client);
    QVERIFY(m_f.connectClient());
    const QString firstId = m_f.client->clientId();
    m_f.fake->setWsSilent(true); // the socket stays open but nothing comes back, not even pongs
    QTRY_VERIFY_WITH_TIMEOUT(rec.states.contains(ConnectionState::Disconnected), 6000);
    // The client id changes after an unclean drop (ComfyUI's same-id cleanup would silence the new socket).
    QVERIFY(m_f.client->clientId() != firstId);
    m_f.fake->setWsSilent(false);
    QTRY_COMPARE_WITH_TIMEOUT(m_f.client->state(), ConnectionState::Connected, 5000);
    QTRY_VERIFY_WITH_TIMEOUT(m_f.fake->webSocketClientIds().contains(m_f.client->clientId()), 5000);
}

void TstComfyClient::httpTimeoutAndUnreachable()
{
    ComfySettings s = settingsFor(*m_f.fake);
    s.requestTimeoutMs = 300;
    ComfyClient client(s, QStringLiteral("t2"));
    m_f.fake->setStallHttp(true);
    std::optional<Result<QueueSnapshot>> r;
    client.http()->queue([&r](Result<QueueSnapshot> q) { r = q; });
    QTRY_VERIFY_WITH_TIMEOUT(r.has_value(), 5000);
    QVERIFY(!r->ok());
    QCOMPARE(r->error().code, QStringLiteral("comfy_timeout"));

    m_f.fake->setStallHttp(false);
    QVERIFY(m_f.fake->setRefuseConnections(true));
    r.reset();
    client.http()->queue([&r](Result<QueueSnapshot> q) { r = q; });
    QTRY_VERIFY_WITH_TIMEOUT(r.has_value(), 5000);
    QCOMPARE(r->error().code, QStringLiteral("comfy_unreachable"));
    QVERIFY(r->error().message.contains(m_f.fake->httpUrl().toString()));
}

void TstComfyClient::capturedTrafficThroughTheClient_data()
{
    QTest::addColumn<QString>("scenario");
    for (const char *s :
         {"A_ksampler_ok", "A_noflags", "D_runtime_error", "I_multi_output", "J_save_ws", "L_long_cadence"})
        QTest::newRow(s) << QString::fromLatin1(s);
}

void TstComfyClient::capturedTrafficThroughTheClient()
{
    QFETCH(QString, scenario);
    QString error;
    const std::optional<cr::sim::Capture> capture = cr::sim::Capture::load(scenario, &error);
    QVERIFY2(capture, qPrintable(error));
    Recorder rec(*m_f.client);
    QVERIFY(m_f.connectClient());
    const int before = rec.events.size();
    const QList<cr::sim::CaptureRecord> frames = capture->wsIn(QStringLiteral("c1"));
    int texts = 0, previews = 0;
    for (const auto &f : frames) {
        if (f.kind == QLatin1String("text"))
            ++texts;
        else if (f.kind == QLatin1String("binary"))
            ++previews;
    }
    const int sent = m_f.fake->replayCapture(*capture, QStringLiteral("c1"), m_f.client->clientId());
    QCOMPARE(sent, frames.size());
    QTRY_COMPARE_WITH_TIMEOUT(rec.events.size() - before, texts, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(int(rec.previews.size()), previews, 5000);
    QCOMPARE(m_f.client->connection()->malformedFrames(), 0);
    // Text frames are relayed byte-identical.
    int i = before;
    for (const auto &f : frames) {
        if (f.kind == QLatin1String("text"))
            QCOMPARE(rec.events.at(i++).raw, f.text);
    }
}

QTEST_GUILESS_MAIN(TstComfyClient)
#include "tst_comfyclient.moc"
