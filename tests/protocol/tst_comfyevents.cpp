// parseTextFrame against every text frame recorded from a real ComfyUI, plus the variants the captures
// do not contain (interrupt, ExecutionBlocked, float upload size, unknown types) and malformed input.

#include "protocol/comfyevents.h"
#include "sim/capture.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QSet>
#include <QTest>

using namespace cr::protocol;
using namespace cr::sim;
using namespace Qt::StringLiterals;

Q_LOGGING_CATEGORY(lcTest, "comfyrunner.test.comfyevents")

namespace {

QStringList strings(const QJsonValue &v)
{
    QStringList out;
    for (const QJsonValue &item : v.toArray())
        out.append(item.toString());
    return out;
}

// null/absent -> "", as the parser promises for optional ids.
QString idOrEmpty(const QJsonValue &v) { return v.isString() ? v.toString() : QString(); }

void checkStatus(const ComfyEvent &e, const QJsonObject &d)
{
    const auto *s = e.as<StatusEvent>();
    QVERIFY(s);
    const QJsonValue qr = d["status"_L1]["exec_info"_L1]["queue_remaining"_L1];
    QVERIFY(qr.isDouble());
    QCOMPARE(s->queueRemaining, qr.toInt());
    QCOMPARE(s->sid, d["sid"_L1].toString());
}

void checkExecuting(const ComfyEvent &e, const QJsonObject &d)
{
    const auto *x = e.as<ExecutingEvent>();
    QVERIFY(x);
    const QJsonValue node = d["node"_L1];
    QCOMPARE(x->finished, node.isNull());
    QCOMPARE(x->node, idOrEmpty(node));
    QCOMPARE(x->displayNode, idOrEmpty(d["display_node"_L1]));
    QCOMPARE(x->promptId, d["prompt_id"_L1].toString());
    QCOMPARE(x->isReconnectHint(), !d.contains("prompt_id"_L1) && node.isString());
}

void checkProgressState(const ComfyEvent &e, const QJsonObject &d)
{
    const auto *p = e.as<ProgressStateEvent>();
    QVERIFY(p);
    QCOMPARE(p->promptId, d["prompt_id"_L1].toString());
    const QJsonObject nodes = d["nodes"_L1].toObject();
    QCOMPARE(p->nodes.size(), nodes.size());
    QSet<QString> seen;
    for (const NodeProgress &n : p->nodes) {
        const QJsonObject expected = nodes.value(n.nodeId).toObject();
        QVERIFY2(!expected.isEmpty(), qPrintable(n.nodeId));
        seen.insert(n.nodeId);
        QCOMPARE(n.displayNodeId, idOrEmpty(expected["display_node_id"_L1]));
        QCOMPARE(n.realNodeId, idOrEmpty(expected["real_node_id"_L1]));
        QCOMPARE(n.parentNodeId, idOrEmpty(expected["parent_node_id"_L1]));
        QCOMPARE(n.state, expected["state"_L1].toString());
        QCOMPARE(n.value, expected["value"_L1].toDouble());
        QCOMPARE(n.max, expected["max"_L1].toDouble());
    }
    QCOMPARE(seen.size(), nodes.size());
}

void checkExecuted(const ComfyEvent &e, const QJsonObject &d)
{
    const auto *x = e.as<ExecutedEvent>();
    QVERIFY(x);
    QCOMPARE(x->node, d["node"_L1].toString());
    QCOMPARE(x->displayNode, d["display_node"_L1].toString());
    const QJsonObject output = d["output"_L1].toObject();
    QCOMPARE(x->output, output);
    qsizetype expectedFiles = 0;
    for (const QJsonValue &v : output) {
        for (const QJsonValue &item : v.toArray())
            expectedFiles += item.toObject().contains("filename"_L1) ? 1 : 0;
    }
    QCOMPARE(x->files.size(), expectedFiles);
    for (const OutputFile &f : x->files) {
        const QJsonObject asSent{{"filename"_L1, f.filename}, {"subfolder"_L1, f.subfolder}, {"type"_L1, f.type}};
        QVERIFY2(output[f.kind].toArray().contains(asSent), qPrintable(f.kind + u' ' + f.filename));
    }
}

void checkExecutionError(const ComfyEvent &e, const QJsonObject &d)
{
    const auto *x = e.as<ExecutionErrorEvent>();
    QVERIFY(x);
    QCOMPARE(x->nodeId, d["node_id"_L1].toString());
    QCOMPARE(x->nodeType, d["node_type"_L1].toString());
    QCOMPARE(x->exceptionMessage, d["exception_message"_L1].toString());
    QCOMPARE(x->exceptionType, d["exception_type"_L1].toString());
    QCOMPARE(x->traceback, strings(d["traceback"_L1]));
    QCOMPARE(x->executed, strings(d["executed"_L1]));
    QCOMPARE(x->currentOutputs, strings(d["current_outputs"_L1]));
    QCOMPARE(x->timestamp, d["timestamp"_L1].toInteger());
    QCOMPARE(x->terminal, d.contains("timestamp"_L1));
    QCOMPARE(x->blocked, d["exception_type"_L1].toString() == "ExecutionBlocked"_L1);
}

// Field checks per type against the recorder's own parse of the frame (`data` of the jsonl `msg`).
void checkPayload(const ComfyEvent &e, const QJsonObject &d)
{
    switch (e.type) {
    case EventType::Status:
        return checkStatus(e, d);
    case EventType::ExecutionStart:
        QVERIFY(e.as<ExecutionStartEvent>());
        QCOMPARE(e.as<ExecutionStartEvent>()->promptId, d["prompt_id"_L1].toString());
        QCOMPARE(e.as<ExecutionStartEvent>()->timestamp, d["timestamp"_L1].toInteger());
        return;
    case EventType::ExecutionCached:
        QVERIFY(e.as<ExecutionCachedEvent>());
        QCOMPARE(e.as<ExecutionCachedEvent>()->nodes, strings(d["nodes"_L1]));
        QCOMPARE(e.as<ExecutionCachedEvent>()->timestamp, d["timestamp"_L1].toInteger());
        return;
    case EventType::Executing:
        return checkExecuting(e, d);
    case EventType::Progress:
        QVERIFY(e.as<ProgressEvent>());
        QCOMPARE(e.as<ProgressEvent>()->node, d["node"_L1].toString());
        QCOMPARE(e.as<ProgressEvent>()->value, d["value"_L1].toDouble());
        QCOMPARE(e.as<ProgressEvent>()->max, d["max"_L1].toDouble());
        return;
    case EventType::ProgressState:
        return checkProgressState(e, d);
    case EventType::Executed:
        return checkExecuted(e, d);
    case EventType::ExecutionSuccess:
        QVERIFY(e.as<ExecutionSuccessEvent>());
        QCOMPARE(e.as<ExecutionSuccessEvent>()->timestamp, d["timestamp"_L1].toInteger());
        return;
    case EventType::ExecutionError:
        return checkExecutionError(e, d);
    case EventType::ExecutionInterrupted:
        QVERIFY(e.as<ExecutionInterruptedEvent>());
        QCOMPARE(e.as<ExecutionInterruptedEvent>()->nodeId, d["node_id"_L1].toString());
        QCOMPARE(e.as<ExecutionInterruptedEvent>()->executed, strings(d["executed"_L1]));
        return;
    case EventType::FeatureFlags:
        QVERIFY(e.as<FeatureFlagsEvent>());
        QCOMPARE(e.as<FeatureFlagsEvent>()->supportsPreviewMetadata,
                 d["supports_preview_metadata"_L1].isBool() && d["supports_preview_metadata"_L1].toBool());
        QCOMPARE(e.as<FeatureFlagsEvent>()->maxUploadSize, d["max_upload_size"_L1].toDouble());
        return;
    case EventType::Unknown:
        QVERIFY(std::holds_alternative<std::monostate>(e.payload));
        return;
    }
}

QList<CaptureRecord> textFrames(const Capture &capture)
{
    QList<CaptureRecord> out;
    for (const CaptureRecord &r : capture.records) {
        if ((r.dir == "ws_in"_L1 || r.dir == "ws_out"_L1) && r.isText())
            out.append(r);
    }
    return out;
}

} // namespace

// Replays the captures and checks the typed events; synthetic frames cover what was not recorded.
class TstComfyEvents final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void replayCaptures_data();
    void replayCaptures();
    void capturesCoverEdgeCases();
    void rawSharesInputBuffer();
    void typeNamesRoundTrip();
    void executionInterrupted();
    void executionBlockedIsNotTerminal();
    void dependencyCycleError();
    void featureFlags_data();
    void featureFlags();
    void unknownTypeIsKept_data();
    void unknownTypeIsKept();
    void numericNodeIdsBecomeStrings();
    void missingFieldsUseDefaults();
    void outputFiles_data();
    void outputFiles();
    void malformedText_data();
    void malformedText();

private:
    QStringList m_scenarios;
};

void TstComfyEvents::initTestCase()
{
    m_scenarios = captureScenarios();
    QVERIFY2(!m_scenarios.isEmpty(), qPrintable(u"no captures in "_s + capturesDir()));
}

void TstComfyEvents::replayCaptures_data()
{
    QTest::addColumn<QString>("scenario");
    for (const QString &s : std::as_const(m_scenarios))
        QTest::newRow(qPrintable(s)) << s;
}

void TstComfyEvents::replayCaptures()
{
    QFETCH(QString, scenario);
    QString error;
    const auto capture = Capture::load(scenario, &error);
    QVERIFY2(capture, qPrintable(error));
    const QList<CaptureRecord> frames = textFrames(*capture);
    QVERIFY(!frames.isEmpty());

    for (const CaptureRecord &r : frames) {
        const QJsonObject msg = r.line["msg"_L1].toObject();
        const QJsonObject d = msg["data"_L1].toObject();
        const auto event = parseTextFrame(r.text, &error);
        QVERIFY2(event, qPrintable(error + u" in "_s + QString::fromUtf8(r.text)));
        QVERIFY(error.isEmpty());
        QCOMPARE(event->raw, r.text);
        QCOMPARE(event->typeName, msg["type"_L1].toString());
        QVERIFY2(event->type != EventType::Unknown, qPrintable(event->typeName));
        QCOMPARE(eventTypeName(event->type), event->typeName);
        QCOMPARE(event->promptId, d["prompt_id"_L1].toString());
        QCOMPARE(event->data, d);
        checkPayload(*event, d);
        if (QTest::currentTestFailed()) {
            qCWarning(lcTest).noquote() << scenario << "t =" << r.t << "frame:" << r.text.left(300);
            return;
        }
    }
}

// The special cases the brief names must really be exercised by the replay above.
void TstComfyEvents::capturesCoverEdgeCases()
{
    int hints = 0, finished = 0, errors = 0, flags = 0, executedWithFiles = 0;
    for (const QString &s : std::as_const(m_scenarios)) {
        const auto capture = Capture::load(s);
        QVERIFY(capture);
        for (const CaptureRecord &r : capture->wsIn()) {
            if (!r.isText())
                continue;
            const auto e = parseTextFrame(r.text);
            QVERIFY(e);
            if (const auto *x = e->as<ExecutingEvent>()) {
                hints += x->isReconnectHint() ? 1 : 0;
                finished += x->finished ? 1 : 0;
            }
            errors += e->as<ExecutionErrorEvent>() ? 1 : 0;
            flags += e->as<FeatureFlagsEvent>() ? 1 : 0;
            executedWithFiles += (e->as<ExecutedEvent>() && !e->as<ExecutedEvent>()->files.isEmpty()) ? 1 : 0;
        }
    }
    QVERIFY(hints > 0);
    QVERIFY(finished > 0);
    QVERIFY(errors > 0);
    QVERIFY(flags > 0);
    QVERIFY(executedWithFiles > 0);
}

void TstComfyEvents::rawSharesInputBuffer()
{
    const QByteArray frame = R"({"type": "progress", "data": {"value": 3, "max": 8, "prompt_id": "p", "node": "3"}})";
    const auto e = parseTextFrame(frame);
    QVERIFY(e);
    QVERIFY(e->raw.constData() == frame.constData()); // no copy of the frame
    QCOMPARE(e->raw, frame);
}

void TstComfyEvents::typeNamesRoundTrip()
{
    QSet<QString> names;
    for (int i = 0; i < int(EventType::Unknown); ++i) {
        const auto type = static_cast<EventType>(i);
        const QString name = eventTypeName(type);
        QVERIFY(!name.isEmpty());
        QCOMPARE(eventTypeFromName(name), type);
        names.insert(name);
    }
    QCOMPARE(names.size(), qsizetype(EventType::Unknown));
    QVERIFY(eventTypeName(EventType::Unknown).isEmpty());
    QCOMPARE(eventTypeFromName(u"Status"_s), EventType::Unknown); // case matters
}

void TstComfyEvents::executionInterrupted()
{
    const auto e = parseTextFrame(R"({"type": "execution_interrupted", "data": {"prompt_id": "p1", "node_id": "3",
        "node_type": "KSampler", "executed": ["4", "5", "6"], "timestamp": 1795736772885}})");
    QVERIFY(e);
    QCOMPARE(e->type, EventType::ExecutionInterrupted);
    const auto *x = e->as<ExecutionInterruptedEvent>();
    QVERIFY(x);
    QCOMPARE(x->promptId, u"p1"_s);
    QCOMPARE(x->nodeId, u"3"_s);
    QCOMPARE(x->nodeType, u"KSampler"_s);
    QCOMPARE(x->executed, (QStringList{u"4"_s, u"5"_s, u"6"_s}));
    QCOMPARE(x->timestamp, Q_INT64_C(1795736772885));
}

void TstComfyEvents::executionBlockedIsNotTerminal()
{
    const auto e = parseTextFrame(R"({"type": "execution_error", "data": {"prompt_id": "p1", "node_id": "7",
        "node_type": "X", "executed": [], "exception_message": "Execution Blocked: nope",
        "exception_type": "ExecutionBlocked", "traceback": [], "current_inputs": [], "current_outputs": []}})");
    QVERIFY(e);
    const auto *x = e->as<ExecutionErrorEvent>();
    QVERIFY(x);
    QVERIFY(x->blocked);
    QVERIFY(!x->terminal);
    QCOMPARE(x->timestamp, Q_INT64_C(0));
    QCOMPARE(x->exceptionMessage, u"Execution Blocked: nope"_s);
}

void TstComfyEvents::dependencyCycleError()
{
    const auto e = parseTextFrame(R"({"type": "execution_error", "data": {"prompt_id": "p2", "node_id": "5",
        "node_type": "VAEDecode", "executed": [], "exception_message": "cycle\n",
        "exception_type": "graph.DependencyCycleError", "traceback": [], "current_inputs": [],
        "current_outputs": ["4"], "timestamp": 17}})");
    QVERIFY(e);
    const auto *x = e->as<ExecutionErrorEvent>();
    QVERIFY(x);
    QVERIFY(x->terminal);
    QVERIFY(!x->blocked);
    QCOMPARE(x->timestamp, Q_INT64_C(17));
    QCOMPARE(x->currentOutputs, QStringList{u"4"_s});
    QVERIFY(x->traceback.isEmpty());
    QVERIFY(e->data["current_inputs"_L1].isArray()); // kept as sent in data
}

void TstComfyEvents::featureFlags_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::addColumn<bool>("preview");
    QTest::addColumn<double>("maxUpload");
    QTest::newRow("default int") << QByteArray(
        R"({"type":"feature_flags","data":{"supports_preview_metadata":true,"max_upload_size":104857600}})")
                                 << true << 104857600.0;
    QTest::newRow("float size") << QByteArray(
        R"({"type":"feature_flags","data":{"supports_preview_metadata":true,"max_upload_size":209715200.0}})")
                                << true << 209715200.0;
    QTest::newRow("fractional") << QByteArray(R"({"type":"feature_flags","data":{"max_upload_size":1572864.5}})")
                                << false << 1572864.5;
    QTest::newRow("string true is not true")
        << QByteArray(R"({"type":"feature_flags","data":{"supports_preview_metadata":"true"}})") << false << 0.0;
    QTest::newRow("1 is not true") << QByteArray(R"({"type":"feature_flags","data":{"supports_preview_metadata":1}})")
                                   << false << 0.0;
    QTest::newRow("false") << QByteArray(R"({"type":"feature_flags","data":{"supports_preview_metadata":false}})")
                           << false << 0.0;
}

void TstComfyEvents::featureFlags()
{
    QFETCH(QByteArray, frame);
    QFETCH(bool, preview);
    QFETCH(double, maxUpload);
    const auto e = parseTextFrame(frame);
    QVERIFY(e);
    const auto *f = e->as<FeatureFlagsEvent>();
    QVERIFY(f);
    QCOMPARE(f->supportsPreviewMetadata, preview);
    QCOMPARE(f->maxUploadSize, maxUpload);
}

void TstComfyEvents::unknownTypeIsKept_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::addColumn<QString>("typeName");
    QTest::addColumn<QString>("promptId");
    QTest::newRow("custom node") << QByteArray(R"({"type": "crystools.monitor", "data": {"cpu_utilization": 3.5}})")
                                 << u"crystools.monitor"_s << QString();
    QTest::newRow("logs") << QByteArray(
        R"({"type": "logs", "data": {"entries": [{"t": "x", "m": "y"}], "size": null}})")
                          << u"logs"_s << QString();
    QTest::newRow("with prompt id") << QByteArray(R"({"type":"my_event","data":{"prompt_id":"abc"}})") << u"my_event"_s
                                    << u"abc"_s;
    QTest::newRow("no data") << QByteArray(R"({"type":"bare"})") << u"bare"_s << QString();
}

void TstComfyEvents::unknownTypeIsKept()
{
    QFETCH(QByteArray, frame);
    QFETCH(QString, typeName);
    QFETCH(QString, promptId);
    const auto e = parseTextFrame(frame);
    QVERIFY(e);
    QCOMPARE(e->type, EventType::Unknown);
    QCOMPARE(e->typeName, typeName);
    QCOMPARE(e->promptId, promptId);
    QCOMPARE(e->raw, frame);
    QVERIFY(std::holds_alternative<std::monostate>(e->payload));
    QCOMPARE(e->data, QJsonDocument::fromJson(frame).object()["data"_L1].toObject());
}

void TstComfyEvents::numericNodeIdsBecomeStrings()
{
    const auto e = parseTextFrame(R"({"type":"executing","data":{"node":12,"display_node":12,"prompt_id":"p"}})");
    QVERIFY(e);
    QCOMPARE(e->as<ExecutingEvent>()->node, u"12"_s);
    QCOMPARE(e->as<ExecutingEvent>()->displayNode, u"12"_s);
    QVERIFY(!e->as<ExecutingEvent>()->finished);
    const auto c = parseTextFrame(R"({"type":"execution_cached","data":{"nodes":[4, "5"],"prompt_id":"p"}})");
    QVERIFY(c);
    QCOMPARE(c->as<ExecutionCachedEvent>()->nodes, (QStringList{u"4"_s, u"5"_s}));
}

void TstComfyEvents::missingFieldsUseDefaults()
{
    const auto e = parseTextFrame(R"({"type":"executing","data":{}})");
    QVERIFY(e);
    const auto *x = e->as<ExecutingEvent>();
    QVERIFY(x);
    QVERIFY(!x->finished); // an absent node is not a JSON null
    QVERIFY(!x->isReconnectHint());
    const auto s = parseTextFrame(R"({"type":"status","data":"not an object"})");
    QVERIFY(s);
    QCOMPARE(s->as<StatusEvent>()->queueRemaining, 0);
    QVERIFY(s->data.isEmpty());
    const auto p = parseTextFrame(R"({"type":"progress","data":{"value":"x","max":null,"node":null}})");
    QVERIFY(p);
    QCOMPARE(p->as<ProgressEvent>()->value, 0.0);
    QVERIFY(p->as<ProgressEvent>()->node.isEmpty());
}

void TstComfyEvents::outputFiles_data()
{
    QTest::addColumn<QByteArray>("ui");
    QTest::addColumn<QStringList>("expected"); // "kind|filename|subfolder|type" in output order

    QTest::newRow("empty") << QByteArray("{}") << QStringList{};
    QTest::newRow("save image") << QByteArray(R"({"images":[{"filename":"a.png","subfolder":"","type":"output"},
                                                           {"filename":"b.png","subfolder":"s","type":"output"}]})")
                                << QStringList{u"images|a.png||output"_s, u"images|b.png|s|output"_s};
    QTest::newRow("animated flag skipped")
        << QByteArray(R"({"images":[{"filename":"v.webp","subfolder":"","type":"output"}],"animated":[true]})")
        << QStringList{u"images|v.webp||output"_s};
    QTest::newRow("gifs video audio") << QByteArray(
        R"({"gifs":[{"filename":"g.mp4","subfolder":"vid","type":"output","format":"video/h264-mp4"}],
                                                      "audio":[{"filename":"a.flac","subfolder":"audio","type":"temp"}],
                                                      "video":[{"filename":"v.mp4","subfolder":"","type":"output"}]})")
                                      << QStringList{u"audio|a.flac|audio|temp"_s, u"gifs|g.mp4|vid|output"_s,
                                                     u"video|v.mp4||output"_s};
    // A "text" string is an output of its own (no file: outputkind.h, tst_outputkind); other strings are not.
    QTest::newRow("text kept, other strings skipped")
        << QByteArray(R"({"text":["hello"],"result":["mesh.glb", null],"images":"x"})") << QStringList{u"text|||"_s};
    QTest::newRow("objects without filename skipped")
        << QByteArray(R"({"3d":[{"name":"x"},{"filename":"m.glb","type":"output"}]})")
        << QStringList{u"3d|m.glb||output"_s};
}

void TstComfyEvents::outputFiles()
{
    QFETCH(QByteArray, ui);
    QFETCH(QStringList, expected);
    const QList<OutputFile> files = outputFilesFrom(QJsonDocument::fromJson(ui).object());
    QStringList got;
    for (const OutputFile &f : files)
        got.append(QStringList{f.kind, f.filename, f.subfolder, f.type}.join(u'|'));
    QCOMPARE(got, expected);
}

void TstComfyEvents::malformedText_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::newRow("empty") << QByteArray();
    QTest::newRow("not JSON") << QByteArray("hello");
    QTest::newRow("truncated object") << QByteArray(R"({"type": "status", "data": {)");
    QTest::newRow("array") << QByteArray(R"([{"type": "status"}])");
    QTest::newRow("string") << QByteArray(R"("status")");
    QTest::newRow("missing type") << QByteArray(R"({"data": {"prompt_id": "p"}})");
    QTest::newRow("type is a number") << QByteArray(R"({"type": 3, "data": {}})");
    QTest::newRow("type is null") << QByteArray(R"({"type": null})");
    QTest::newRow("type is an object") << QByteArray(R"({"type": {"name": "status"}})");
}

void TstComfyEvents::malformedText()
{
    QFETCH(QByteArray, frame);
    QString error;
    QVERIFY(!parseTextFrame(frame, &error));
    QVERIFY(!error.isEmpty());
    QVERIFY(!parseTextFrame(frame)); // no error pointer: still fine
}

QTEST_GUILESS_MAIN(TstComfyEvents)
#include "tst_comfyevents.moc"
