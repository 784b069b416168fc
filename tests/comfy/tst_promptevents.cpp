// A prompt whose events all came over one unbroken connection is answered from those events, without a
// GET /history round trip, and that answer is what /history says (status, outputs, files, cached nodes,
// error), for several workflows; a prompt whose connection dropped mid-run still reads /history.

#include "core/comfy/comfyclient.h"
#include "core/comfy/promptevents.h"
#include "sim/fakecomfy.h"
#include "tests/comfy/comfyclienttesthelpers.h"

#include <QJsonArray>
#include <QtTest>

using namespace cr;
using namespace cr::comfytest;
using cr::sim::FakeComfy;

namespace {

QJsonObject node(const QString &cls, const QJsonObject &inputs)
{
    return {{QStringLiteral("class_type"), cls}, {QStringLiteral("inputs"), inputs}};
}

QJsonArray link(const char *from, int slot) { return QJsonArray{QString::fromLatin1(from), slot}; }

// Three output nodes: SaveImage 9, PreviewImage 10 (temp files) and SaveLatent 11 (a non-image output).
QJsonObject multiOutput(QJsonObject graph)
{
    graph.insert(QStringLiteral("10"),
                 node(QStringLiteral("PreviewImage"), {{QStringLiteral("images"), link("8", 0)}}));
    graph.insert(QStringLiteral("11"),
                 node(QStringLiteral("SaveLatent"),
                      {{QStringLiteral("samples"), link("3", 0)},
                       {QStringLiteral("filename_prefix"), QStringLiteral("latents/run")}}));
    return graph;
}

QJsonObject withInput(QJsonObject graph, const QString &id, const QString &input, const QJsonValue &value)
{
    QJsonObject n = graph.value(id).toObject();
    QJsonObject inputs = n.value(QLatin1String("inputs")).toObject();
    inputs.insert(input, value);
    n.insert(QStringLiteral("inputs"), inputs);
    graph.insert(id, n);
    return graph;
}

int historyReads(const FakeComfy &fake)
{
    int n = 0;
    for (const QString &r : fake.requestLog())
        n += r.startsWith(QLatin1String("GET /history")) ? 1 : 0;
    return n;
}

// The outcome built from events must say what ComfyUI's record says, field by field.
void compareWithHistory(const PromptOutcome &fromEvents, const QJsonObject &entry)
{
    QVERIFY(!entry.isEmpty());
    const std::optional<PromptOutcome> h = PromptOutcome::fromHistory(fromEvents.promptId, entry);
    QVERIFY(h);
    QCOMPARE(fromEvents.source, PromptOutcome::Source::Events);
    QCOMPARE(h->source, PromptOutcome::Source::History);
    QCOMPARE(fromEvents.status, h->status);
    QCOMPARE(fromEvents.outputs, h->outputs);
    QCOMPARE(fromEvents.files, h->files);
    QCOMPARE(fromEvents.cachedNodes, h->cachedNodes);
    QCOMPARE(fromEvents.reason, h->reason);
    QCOMPARE(fromEvents.error.has_value(), h->error.has_value());
    if (h->error) {
        QCOMPARE(fromEvents.error->nodeId, h->error->nodeId);
        QCOMPARE(fromEvents.error->nodeType, h->error->nodeType);
        QCOMPARE(fromEvents.error->exceptionMessage, h->error->exceptionMessage);
        QCOMPARE(fromEvents.error->exceptionType, h->error->exceptionType);
        QCOMPARE(fromEvents.error->traceback, h->error->traceback);
        QCOMPARE(fromEvents.error->executed, h->error->executed);
        QCOMPARE(fromEvents.error->timestamp, h->error->timestamp);
    }
}

protocol::ComfyEvent frame(const char *json) { return *protocol::parseTextFrame(QByteArray(json)); }

} // namespace

class TstPromptEvents : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void unbrokenRunAnswersFromEvents_data();
    void unbrokenRunAnswersFromEvents();
    void cachedRerunAnswersFromEvents();
    void interruptAnswersFromEvents();
    void dropMidRunReadsHistory();
    void terminalEventAfterExecutingNull();
    void textOutputsAsHistoryHasThem();

private:
    ClientFixture m_f;
};

void TstPromptEvents::init() { QVERIFY(m_f.setUp(5, QStringLiteral("events-client"))); }

void TstPromptEvents::cleanup() { m_f.tearDown(); }

void TstPromptEvents::unbrokenRunAnswersFromEvents_data()
{
    QTest::addColumn<QJsonObject>("graph");
    QTest::addColumn<int>("status");
    QTest::addColumn<int>("files");
    const QJsonObject base = loadWorkflow();
    QTest::newRow("one SaveImage") << base << int(PromptOutcome::Status::Succeeded) << 1;
    QTest::newRow("three output nodes") << multiOutput(base) << int(PromptOutcome::Status::Succeeded) << 3;
    QTest::newRow("batch of 3") << withInput(base, QStringLiteral("5"), QStringLiteral("batch_size"), 3)
                                << int(PromptOutcome::Status::Succeeded) << 3;
    QTest::newRow("runtime error") << withInput(base, QStringLiteral("6"), QStringLiteral("text"),
                                                QStringLiteral("__fail__"))
                                   << int(PromptOutcome::Status::Failed) << 0;
    QTest::newRow("error after an output") << withInput(multiOutput(base), QStringLiteral("11"),
                                                        QStringLiteral("filename_prefix"), QStringLiteral("__fail__"))
                                           << int(PromptOutcome::Status::Failed) << -1;
}

void TstPromptEvents::unbrokenRunAnswersFromEvents()
{
    QFETCH(QJsonObject, graph);
    QFETCH(int, status);
    QFETCH(int, files);
    Recorder rec(*m_f.client);
    QVERIFY(m_f.connectClient());
    const QString id = submitOk(*m_f.client, graph);
    QVERIFY(!id.isEmpty());
    QTRY_VERIFY_WITH_TIMEOUT(rec.outcome(id), 10000);
    const PromptOutcome o = *rec.outcome(id);
    QCOMPARE(int(o.status), status);
    if (files >= 0)
        QCOMPARE(o.files.size(), files);
    QCOMPARE(historyReads(*m_f.fake), 0); // answered without asking ComfyUI again
    QVERIFY(!m_f.client->isTracked(id));
    compareWithHistory(o, m_f.fake->historyEntry(id));
    // The terminal event reached listeners before the outcome did.
    QVERIFY(!rec.typesFor(id).isEmpty());
}

void TstPromptEvents::cachedRerunAnswersFromEvents()
{
    Recorder rec(*m_f.client);
    QVERIFY(m_f.connectClient());
    const QJsonObject graph = multiOutput(m_f.graph);
    const QString first = submitOk(*m_f.client, graph);
    QTRY_VERIFY_WITH_TIMEOUT(rec.outcome(first), 10000);
    const QString again = submitOk(*m_f.client, graph); // identical: every node is served from the cache
    QTRY_VERIFY_WITH_TIMEOUT(rec.outcome(again), 10000);
    const PromptOutcome o = *rec.outcome(again);
    QCOMPARE(o.status, PromptOutcome::Status::Succeeded);
    QVERIFY(!o.cachedNodes.isEmpty());
    QCOMPARE(o.cachedNodes.size(), graph.size());
    QCOMPARE(o.files, rec.outcome(first)->files); // the old files, as ComfyUI's history has them
    QCOMPARE(historyReads(*m_f.fake), 0);
    compareWithHistory(o, m_f.fake->historyEntry(again));
}

void TstPromptEvents::interruptAnswersFromEvents()
{
    Recorder rec(*m_f.client);
    QVERIFY(m_f.connectClient());
    m_f.fake->setSteps(200);
    const QString id = submitOk(*m_f.client, multiOutput(m_f.graph));
    QTRY_VERIFY_WITH_TIMEOUT(rec.typesFor(id).contains(QStringLiteral("progress")), 5000);
    m_f.client->cancel(id);
    QTRY_VERIFY_WITH_TIMEOUT(rec.outcome(id), 5000);
    const PromptOutcome o = *rec.outcome(id);
    QCOMPARE(o.status, PromptOutcome::Status::Interrupted);
    QCOMPARE(historyReads(*m_f.fake), 0);
    compareWithHistory(o, m_f.fake->historyEntry(id));
}

void TstPromptEvents::dropMidRunReadsHistory()
{
    Recorder rec(*m_f.client);
    QVERIFY(m_f.connectClient());
    m_f.fake->setSteps(20);
    m_f.fake->setStepIntervalMs(20);
    const QString id = submitOk(*m_f.client, m_f.graph);
    QTRY_VERIFY_WITH_TIMEOUT(rec.typesFor(id).contains(QStringLiteral("progress")), 5000);
    m_f.fake->dropWebSockets(); // the run goes on in ComfyUI; some of its events never reach us
    QTRY_VERIFY_WITH_TIMEOUT(rec.outcome(id), 15000);
    const PromptOutcome o = *rec.outcome(id);
    QCOMPARE(o.status, PromptOutcome::Status::Succeeded);
    QCOMPARE(o.source, PromptOutcome::Source::History);
    QVERIFY(m_f.fake->requestLog().contains(QStringLiteral("GET /history/") + id));
    QCOMPARE(o.files.size(), 1);
}

void TstPromptEvents::terminalEventAfterExecutingNull()
{
    // Older ComfyUI sends `executing` null before execution_success: the record is final once both arrived,
    // whatever the order of the two last frames.
    PromptEvents events;
    QVERIFY(!events.add(frame(R"({"type":"executing","data":{"node":null,"prompt_id":"p"}})")));
    QVERIFY(!events.isFinal());
    QVERIFY(!events.outcome(QStringLiteral("p")));
    // ExecutionBlocked (no timestamp) is informational: the run goes on.
    QVERIFY(
        !events.add(frame(R"({"type":"execution_error","data":{"prompt_id":"p","exception_type":"ExecutionBlocked",)"
                          R"("exception_message":"Execution Blocked: x","node_id":"3"}})")));
    QVERIFY(events.add(frame(R"({"type":"execution_success","data":{"prompt_id":"p","timestamp":5}})")));
    QCOMPARE(events.outcome(QStringLiteral("p"))->status, PromptOutcome::Status::Succeeded);
    QVERIFY(!events.add(frame(R"({"type":"execution_error","data":{"prompt_id":"p","timestamp":6}})")));
    QCOMPARE(events.outcome(QStringLiteral("p"))->status, PromptOutcome::Status::Succeeded);

    // Current ComfyUI: the terminal event first; the record waits for `executing` null, ComfyUI's last frame.
    PromptEvents modern;
    QVERIFY(!modern.add(frame(R"({"type":"execution_interrupted","data":{"prompt_id":"p","node_id":"3",)"
                              R"("node_type":"KSampler","executed":[],"timestamp":7}})")));
    QVERIFY(!modern.isFinal());
    QVERIFY(!modern.add(frame(R"({"type":"status","data":{"status":{"exec_info":{"queue_remaining":0}}}})")));
    QVERIFY(modern.add(frame(R"({"type":"executing","data":{"node":null,"prompt_id":"p"}})")));
    QCOMPARE(modern.outcome(QStringLiteral("p"))->status, PromptOutcome::Status::Interrupted);
}

void TstPromptEvents::textOutputsAsHistoryHasThem()
{
    // A text output (PreviewAny-like: {"text": [...]}) and a cache hit without UI ("output": null), against the
    // history entry ComfyUI writes for the same run (protocol doc §2.7).
    PromptEvents events;
    events.add(frame(R"({"type":"execution_start","data":{"prompt_id":"p","timestamp":1}})"));
    events.add(frame(R"({"type":"execution_cached","data":{"nodes":["4","7"],"prompt_id":"p","timestamp":2}})"));
    events.add(frame(R"({"type":"executed","data":{"node":"7","display_node":"7","output":null,"prompt_id":"p"}})"));
    events.add(frame(
        R"({"type":"executed","data":{"node":"12","display_node":"12","output":{"text":["a cat"]},"prompt_id":"p"}})"));
    events.add(frame(R"({"type":"executed","data":{"node":"9","display_node":"9","output":{"images":[)"
                     R"({"filename":"x_00001_.png","subfolder":"","type":"output"}]},"prompt_id":"p"}})"));
    QVERIFY(!events.add(frame(R"({"type":"execution_success","data":{"prompt_id":"p","timestamp":3}})")));
    QVERIFY(events.add(frame(R"({"type":"executing","data":{"node":null,"prompt_id":"p"}})")));
    const QJsonObject entry = QJsonDocument::fromJson(R"({
        "outputs": {"12": {"text": ["a cat"]},
                    "9": {"images": [{"filename": "x_00001_.png", "subfolder": "", "type": "output"}]}},
        "status": {"status_str": "success", "completed": true, "messages": [
            ["execution_start", {"prompt_id": "p", "timestamp": 1}],
            ["execution_cached", {"nodes": ["4", "7"], "prompt_id": "p", "timestamp": 2}],
            ["execution_success", {"prompt_id": "p", "timestamp": 3}]]}})")
                                  .object();
    const std::optional<PromptOutcome> o = events.outcome(QStringLiteral("p"));
    QVERIFY(o);
    QCOMPARE(o->outputs.value(QLatin1String("12")).toObject().value(QLatin1String("text")).toArray().at(0).toString(),
             QStringLiteral("a cat"));
    compareWithHistory(*o, entry);
}

QTEST_GUILESS_MAIN(TstPromptEvents)
#include "tst_promptevents.moc"
