// EventHub without sockets: sequence numbers, byte-identical raw events from the captures, service event
// shape, the replay ring (eventsSince and gaps), per-job logs and their bounds, and the cached wire forms.

#include "core/relay/eventhub.h"
#include "protocol/relaymessages.h"
#include "protocol/websocketframe.h"
#include "sim/capture.h"

#include <QJsonDocument>
#include <QSignalSpy>
#include <QTest>
#include <QtEndian>

using namespace cr;
using namespace cr::protocol;
using namespace cr::sim;
using namespace Qt::StringLiterals;

namespace {

ComfyEvent event(const QByteArray &raw)
{
    auto e = parseTextFrame(raw);
    return e ? *e : ComfyEvent{};
}

ComfyEvent progress(const QString &promptId, int value)
{
    return event(
        u"{\"type\": \"progress\", \"data\": {\"value\": %1, \"max\": 8, \"prompt_id\": \"%2\", \"node\": \"3\"}}"_s
            .arg(value)
            .arg(promptId)
            .toUtf8());
}

QList<qint64> seqs(const QList<RelayEventPtr> &events)
{
    QList<qint64> out;
    for (const auto &e : events)
        out.append(e->seq());
    return out;
}

} // namespace

// Numbering, replay ring, job logs and serialisation caching of the EventHub.
class TstEventHub final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void type4PreviewReencodedWithOneCopy();
    void seqOnlyForJsonEvents();
    void capturedTextFramesStayByteIdentical();
    void builtComfyEventIsSerialised();
    void serviceEventShape();
    void eventsSince_data();
    void eventsSince();
    void jobLogBoundedPerJob();
    void jobLogForgetsLeastRecentlyActiveJob();
    void previewFramesBuiltOnce();
    void capturedPreviewsToBothLayouts();
    void envelopeOfEvent();
    void statsJson();

private:
    QList<Capture> m_captures;
};

void TstEventHub::initTestCase()
{
    const QStringList scenarios = captureScenarios();
    QVERIFY2(!scenarios.isEmpty(), qPrintable(u"no captures in "_s + capturesDir()));
    for (const QString &s : scenarios) {
        QString error;
        auto capture = Capture::load(s, &error);
        QVERIFY2(capture, qPrintable(error));
        m_captures.append(std::move(*capture));
    }
}

void TstEventHub::seqOnlyForJsonEvents()
{
    EventHub hub;
    QSignalSpy spy(&hub, &EventHub::published);
    QCOMPARE(hub.lastSeq(), 0);
    QCOMPARE(hub.firstSeq(), 1);

    const auto a = hub.publishComfyEvent(progress(u"p"_s, 1), u"job"_s);
    PreviewFrame preview;
    preview.image = "img";
    const auto b = hub.publishPreview(preview, u"job"_s);
    const auto c = hub.publishBinary(encodeTextFrame(u"9"_s, u"hi"_s));
    const auto d = hub.publishServiceEvent(u"job_started"_s, {}, u"job"_s);

    QCOMPARE(a->seq(), 1);
    QCOMPARE(b->seq(), 0);
    QCOMPARE(c->seq(), 0);
    QCOMPARE(d->seq(), 2);
    QCOMPARE(hub.lastSeq(), 2);
    QCOMPARE(spy.count(), 4);
    QCOMPARE(spy.at(1).at(0).value<RelayEventPtr>(), b);
    QCOMPARE(int(b->kind()), int(RelayEvent::Kind::Preview));
    QCOMPARE(int(c->kind()), int(RelayEvent::Kind::Binary));
    QCOMPARE(seqs(hub.eventsSince(0).events), (QList<qint64>{1, 2})); // previews and binary are not replayed
    QCOMPARE(seqs(hub.jobEvents(u"job"_s).events), (QList<qint64>{1, 2}));
}

void TstEventHub::capturedTextFramesStayByteIdentical()
{
    EventHub hub;
    int count = 0;
    for (const Capture &capture : m_captures) {
        for (const CaptureRecord &r : capture.wsIn()) {
            if (!r.isText())
                continue;
            const auto parsed = parseTextFrame(r.text);
            QVERIFY2(parsed, qPrintable(capture.scenario));
            const auto e = hub.publishComfyEvent(*parsed, u"j"_s);
            QCOMPARE(e->raw(), r.text);
            QCOMPARE(e->webSocketFrame(RelayEvent::Wire::Text), encodeWebSocketFrame(WebSocketOpcode::Text, r.text));
            QCOMPARE(e->payloadSize(RelayEvent::Wire::Text), r.text.size());
            QCOMPARE(e->type(), parsed->typeName);
            QCOMPARE(e->promptId(), parsed->promptId);
            ++count;
        }
    }
    QVERIFY(count > 100);
    QCOMPARE(hub.lastSeq(), count);
}

void TstEventHub::builtComfyEventIsSerialised()
{
    EventHub hub;
    ComfyEvent e;
    e.typeName = u"status"_s;
    e.data = QJsonObject{{"sid"_L1, "x"}};
    const auto published = hub.publishComfyEvent(e, {});
    QCOMPARE(published->raw(), QByteArray(R"({"type":"status","data":{"sid":"x"}})"));
}

void TstEventHub::serviceEventShape()
{
    EventHub hub;
    const auto a = hub.publishServiceEvent(u"job_queued"_s, QJsonObject{{"position"_L1, 2}}, u"j1"_s);
    QCOMPARE(a->raw(), QByteArray(R"({"type":"job_queued","data":{"job_id":"j1","position":2}})"));
    QCOMPARE(a->type(), u"job_queued"_s);
    QCOMPARE(a->jobId(), u"j1"_s);

    // An explicit job_id is kept; prompt_id is taken from the data.
    const auto b = hub.publishServiceEvent(u"image_generated"_s,
                                           QJsonObject{{"job_id"_L1, "other"}, {"prompt_id"_L1, "p9"}}, u"j1"_s);
    QCOMPARE(QJsonDocument::fromJson(b->raw()).object().value("data"_L1).toObject().value("job_id"_L1).toString(),
             u"other"_s);
    QCOMPARE(b->promptId(), u"p9"_s);

    const auto c = hub.publishServiceEvent(u"service_ready"_s, {}, {});
    QCOMPARE(c->raw(), QByteArray(R"({"type":"service_ready","data":{}})"));
    QVERIFY(!hub.jobEvents(QString()).known);
}

void TstEventHub::eventsSince_data()
{
    QTest::addColumn<qint64>("since");
    QTest::addColumn<qint64>("until");
    QTest::addColumn<QList<qint64>>("expected");
    QTest::addColumn<QString>("gap"); // empty: no gap
    QTest::addColumn<qint64>("firstSeq");

    // Ring of 5 after 12 events: seqs 8..12.
    const qint64 all = std::numeric_limits<qint64>::max();
    QTest::newRow("from start") << qint64(0) << all << QList<qint64>{8, 9, 10, 11, 12} << u"evicted"_s << qint64(8);
    QTest::newRow("just evicted") << qint64(6) << all << QList<qint64>{8, 9, 10, 11, 12} << u"evicted"_s << qint64(8);
    QTest::newRow("oldest kept") << qint64(7) << all << QList<qint64>{8, 9, 10, 11, 12} << u""_s << qint64(8);
    QTest::newRow("middle") << qint64(10) << all << QList<qint64>{11, 12} << u""_s << qint64(11);
    QTest::newRow("up to date") << qint64(12) << all << QList<qint64>{} << u""_s << qint64(13);
    QTest::newRow("unknown seq") << qint64(40) << all << QList<qint64>{8, 9, 10, 11, 12} << u"unknown_seq"_s
                                 << qint64(8);
    QTest::newRow("bounded") << qint64(8) << qint64(10) << QList<qint64>{9, 10} << u""_s << qint64(9);
    QTest::newRow("bound below since") << qint64(10) << qint64(9) << QList<qint64>{} << u""_s << qint64(11);
}

void TstEventHub::eventsSince()
{
    QFETCH(qint64, since);
    QFETCH(qint64, until);
    QFETCH(QList<qint64>, expected);
    QFETCH(QString, gap);
    QFETCH(qint64, firstSeq);

    EventHub hub(EventHubLimits{5, 100, 10});
    for (int i = 1; i <= 12; ++i)
        hub.publishComfyEvent(progress(u"p"_s, i), {});
    QCOMPARE(hub.firstSeq(), 8);
    const EventHub::Replay r = hub.eventsSince(since, until);
    QCOMPARE(seqs(r.events), expected);
    QCOMPARE(r.gap, !gap.isEmpty());
    QCOMPARE(r.gapReason, gap);
    QCOMPARE(r.firstSeq, firstSeq);
    QCOMPARE(r.lastSeq, 12);
}

void TstEventHub::jobLogBoundedPerJob()
{
    EventHub hub(EventHubLimits{100, 3, 10});
    for (int i = 1; i <= 5; ++i)
        hub.publishComfyEvent(progress(u"pa"_s, i), u"A"_s);
    hub.publishComfyEvent(progress(u"pb"_s, 1), u"B"_s);
    hub.publishComfyEvent(progress(u"none"_s, 1), {});

    const EventHub::JobLog a = hub.jobEvents(u"A"_s);
    QVERIFY(a.known);
    QCOMPARE(a.dropped, 2);
    QCOMPARE(seqs(a.events), (QList<qint64>{3, 4, 5}));
    QCOMPARE(seqs(hub.jobEvents(u"B"_s).events), QList<qint64>{6});
    QVERIFY(!hub.jobEvents(u"C"_s).known);
    QCOMPARE(hub.jobLogCount(), 2);

    hub.forgetJob(u"A"_s);
    QVERIFY(!hub.jobEvents(u"A"_s).known);
    QCOMPARE(hub.eventsSince(0).events.size(), 7); // the ring is independent of the job logs
}

void TstEventHub::jobLogForgetsLeastRecentlyActiveJob()
{
    EventHub hub(EventHubLimits{100, 10, 2});
    hub.publishServiceEvent(u"job_queued"_s, {}, u"A"_s);
    hub.publishServiceEvent(u"job_queued"_s, {}, u"B"_s);
    hub.publishServiceEvent(u"job_started"_s, {}, u"A"_s); // A is now more recent than B
    hub.publishServiceEvent(u"job_queued"_s, {}, u"C"_s);
    QCOMPARE(hub.jobLogCount(), 2);
    QVERIFY(hub.jobEvents(u"A"_s).known);
    QVERIFY(!hub.jobEvents(u"B"_s).known);
    QCOMPARE(seqs(hub.jobEvents(u"C"_s).events), QList<qint64>{4});
}

void TstEventHub::previewFramesBuiltOnce()
{
    EventHub hub;
    const QByteArray image = QByteArray::fromHex("ffd8ffe0") + QByteArray(5000, 'j');
    const QByteArray raw1 = encodePreviewType1(ImageFormat::Jpeg, image);
    const auto parsed = parseBinaryFrame(raw1);
    QVERIFY(parsed && parsed->preview);

    // Received as type 1: the received bytes are the legacy frame (no copy).
    const auto e1 = hub.publishPreview(*parsed->preview, u"j"_s, raw1);
    QCOMPARE(e1->type1Frame().constData(), raw1.constData());
    // Without the raw frame: built once, then the same buffer for every caller.
    const auto e2 = hub.publishPreview(*parsed->preview, u"j"_s);
    const char *first = e2->type1Frame().constData();
    QCOMPARE(e2->type1Frame(), raw1);
    QCOMPARE(e2->type1Frame().constData(), first);
    const char *four = e2->type4Frame().constData();
    QCOMPARE(e2->type4Frame().constData(), four);
    const char *env = hub.publishComfyEvent(progress(u"p"_s, 1), u"j"_s)->envelopeBytes().constData();
    QVERIFY(env != nullptr);
    const auto e3 = hub.eventsSince(0).events.last();
    QCOMPARE(e3->envelopeBytes().constData(), env);
    // Complete WebSocket frames: built once per form, then the same buffer for every client.
    using Wire = RelayEvent::Wire;
    const char *frame = e3->webSocketFrame(Wire::Envelope).constData();
    QCOMPARE(e3->webSocketFrame(Wire::Envelope).constData(), frame);
    QCOMPARE(e3->webSocketFrame(Wire::Envelope), encodeWebSocketFrame(WebSocketOpcode::Text, e3->envelopeBytes()));
    QCOMPARE(e1->webSocketFrame(Wire::PreviewType1), encodeWebSocketFrame(WebSocketOpcode::Binary, raw1));
    QCOMPARE(e1->webSocketFrame(Wire::PreviewType1).constData(), e1->webSocketFrame(Wire::PreviewType1).constData());
    QCOMPARE(e2->webSocketFrame(Wire::PreviewType4), encodeWebSocketFrame(WebSocketOpcode::Binary, e2->type4Frame()));
    QCOMPARE(e2->payloadSize(Wire::PreviewType4), e2->type4Frame().size());
}

void TstEventHub::capturedPreviewsToBothLayouts()
{
    EventHub hub;
    int count = 0;
    for (const Capture &capture : m_captures) {
        for (const CaptureRecord &r : capture.wsIn()) {
            if (!r.isBinary() || r.binary.isEmpty())
                continue;
            const auto frame = parseBinaryFrame(r.binary);
            if (!frame || !frame->preview)
                continue;
            const quint32 type = qFromBigEndian<quint32>(r.binary.constData());
            const qsizetype imageOffset = type == 1 ? 8 : 8 + qFromBigEndian<quint32>(r.binary.constData() + 4);
            const QByteArray image = r.binary.mid(imageOffset);
            quint32 formatCode = type == 1 ? qFromBigEndian<quint32>(r.binary.constData() + 4) : 1;
            QJsonObject comfyMeta;
            if (type == 4) {
                comfyMeta = QJsonDocument::fromJson(r.binary.mid(8, imageOffset - 8)).object();
                formatCode = comfyMeta.value("image_type"_L1).toString() == "image/png"_L1 ? 2 : 1;
            }
            char head[8];
            qToBigEndian<quint32>(1, head);
            qToBigEndian<quint32>(formatCode, head + 4);
            const QByteArray expectedType1 = QByteArray(head, 8) + image;

            const auto e = hub.publishPreview(*frame->preview, u"job-%1"_s.arg(count));
            QCOMPARE(e->type1Frame(), expectedType1);

            const QByteArray t4 = e->type4Frame();
            QCOMPARE(qFromBigEndian<quint32>(t4.constData()), 4u);
            const qsizetype metaLen = qFromBigEndian<quint32>(t4.constData() + 4);
            QVERIFY(t4.mid(8 + metaLen) == image);
            QJsonObject meta = QJsonDocument::fromJson(t4.mid(8, metaLen)).object();
            QCOMPARE(meta.take("job_id"_L1).toString(), u"job-%1"_s.arg(count));
            QVERIFY(meta.take("backend"_L1).isNull()); // published without a backend
            if (type == 4)
                QCOMPARE(meta, comfyMeta); // ComfyUI's metadata, unchanged apart from backend and job_id
            ++count;
        }
    }
    QVERIFY(count >= 20);
}

void TstEventHub::envelopeOfEvent()
{
    EventHub hub;
    const qint64 before = QDateTime::currentMSecsSinceEpoch();
    const ComfyEvent ev = progress(u"p1"_s, 4);
    const auto e = hub.publishComfyEvent(ev, u"job-7"_s);
    const qint64 after = QDateTime::currentMSecsSinceEpoch();
    const auto env = parseRelayEnvelope(e->envelopeBytes());
    QVERIFY(env);
    QCOMPARE(env->seq, e->seq());
    QVERIFY(env->timestampMs >= before && env->timestampMs <= after);
    QCOMPARE(env->jobId, u"job-7"_s);
    QCOMPARE(env->promptId, u"p1"_s);
    QCOMPARE(env->type, u"progress"_s);
    QVERIFY(e->envelopeBytes().endsWith("\"event\":" + ev.raw + "}"));
    QCOMPARE(e->webSocketFrame(RelayEvent::Wire::Envelope),
             encodeWebSocketFrame(WebSocketOpcode::Text, e->envelopeBytes()));
}

void TstEventHub::statsJson()
{
    EventHub hub(EventHubLimits{3, 10, 10});
    for (int i = 0; i < 5; ++i)
        hub.publishComfyEvent(progress(u"p"_s, i), u"A"_s);
    hub.publishPreview(PreviewFrame{}, {});
    const QJsonObject s = hub.statsJson();
    QCOMPARE(s.value("last_seq"_L1).toInteger(), 5);
    QCOMPARE(s.value("ring"_L1).toObject().value("size"_L1).toInt(), 3);
    QCOMPARE(s.value("jobs_logged"_L1).toInt(), 1);
    QCOMPARE(s.value("published"_L1).toObject().value("json"_L1).toInt(), 5);
    QCOMPARE(s.value("published"_L1).toObject().value("previews"_L1).toInt(), 1);
}

void TstEventHub::type4PreviewReencodedWithOneCopy()
{
    // A type-4 preview (ComfyUI with metadata) goes to legacy clients as type 1: the frame built straight from
    // the image is byte for byte the frame of the type-1 payload, and its size is known before either exists.
    PreviewFrame frame;
    frame.hadMetadata = true;
    frame.format = ImageFormat::Png;
    frame.meta.promptId = u"p1"_s;
    frame.meta.nodeId = u"3"_s;
    frame.image = QByteArray(70'000, 'x') + "end"; // a 64-bit length header
    const RelayEvent e = RelayEvent::preview(1, u"J"_s, frame, {});
    QCOMPARE(e.payloadSize(RelayEvent::Wire::PreviewType1), qsizetype(8 + frame.image.size()));
    const QByteArray direct = e.webSocketFrame(RelayEvent::Wire::PreviewType1);
    QCOMPARE(direct, encodeWebSocketFrame(WebSocketOpcode::Binary, encodePreviewType1(frame.format, frame.image)));
    QCOMPARE(e.type1Frame(), encodePreviewType1(frame.format, frame.image));
    QCOMPARE(e.payloadSize(RelayEvent::Wire::PreviewType1), e.type1Frame().size());
    PreviewFrame small;
    small.hadMetadata = true;
    small.image = "tiny";
    QCOMPARE(RelayEvent::preview(1, {}, small, {}).webSocketFrame(RelayEvent::Wire::PreviewType1),
             encodeWebSocketFrame(WebSocketOpcode::Binary, encodePreviewType1(small.format, small.image)));
}

QTEST_GUILESS_MAIN(TstEventHub)
#include "tst_eventhub.moc"
