// The backend wire model (GET /api/v1/backends): encoding, lenient parsing, and the GPU taken from a
// /system_stats answer recorded from a real ComfyUI (capture H_endpoints).

#include "protocol/backendstatus.h"
#include "sim/capture.h"

#include <QJsonArray>
#include <QTest>

using namespace cr::protocol;
using namespace Qt::StringLiterals;

class TestBackendStatus : public QObject
{
    Q_OBJECT

private slots:
    void roundTrip()
    {
        BackendStatus b;
        b.name = u"gpu0"_s;
        b.url = u"http://10.0.0.5:8188"_s;
        b.state = u"connected"_s;
        b.connected = true;
        b.inFlight = 2;
        b.maxInFlight = 2;
        b.queueLength = 1;
        b.lastCheckpoint = u"sd15.safetensors"_s;
        b.capabilitiesKnown = true;
        b.nodeCount = 42;
        b.modelCount = 3;
        b.tags = {u"sdxl"_s, u"fast"_s};
        b.since = QDateTime(QDate(2026, 12, 1), QTime(12, 0, 0, 123), Qt::UTC);
        b.gpu = BackendGpu{u"cuda:0 NVIDIA H200 : native"_s, 150109880320, 147174873088};
        const QJsonObject json = encodeBackend(b);
        QCOMPARE(json.value(u"since").toString(), u"2026-12-01T12:00:00.123Z"_s);
        QCOMPARE(json.value(u"last_error"), QJsonValue(QJsonValue::Null));
        QCOMPARE(json.value(u"gpu").toObject().value(u"vram_total").toDouble(), 150109880320.0);
        const auto back = parseBackend(json);
        QVERIFY(back);
        QCOMPARE(*back, b);
    }

    void nullsForUnknowns()
    {
        BackendStatus b;
        b.name = u"a"_s;
        const QJsonObject json = encodeBackend(b);
        QCOMPARE(json.value(u"gpu"), QJsonValue(QJsonValue::Null));
        QCOMPARE(json.value(u"max_in_flight"), QJsonValue(QJsonValue::Null));
        QCOMPARE(json.value(u"since"), QJsonValue(QJsonValue::Null));
        QCOMPARE(json.value(u"last_checkpoint"), QJsonValue(QJsonValue::Null));
        QCOMPARE(*parseBackend(json), b);
    }

    void lenientParsing()
    {
        // Wrong types get defaults; unknown fields are ignored; a nameless entry is dropped.
        const QJsonObject odd{{u"name"_s, u"x"_s},   {u"in_flight"_s, u"2"_s}, {u"tags"_s, QJsonArray{1, u"t"_s}},
                              {u"gpu"_s, u"none"_s}, {u"future"_s, true},      {u"since"_s, u"not a time"_s}};
        const auto b = parseBackend(odd);
        QVERIFY(b);
        QCOMPARE(b->inFlight, 0);
        QCOMPARE(b->tags, QStringList{u"t"_s});
        QVERIFY(!b->gpu);
        QVERIFY(!b->since.isValid());
        QVERIFY(!parseBackend(QJsonObject{{u"name"_s, 7}}));
        QVERIFY(!parseBackend(QJsonObject{{u"name"_s, u""_s}}));
        const QJsonObject list{{u"backends"_s, QJsonArray{odd, QJsonObject{}, encodeBackend(*b)}}};
        QCOMPARE(parseBackendList(list).size(), 2);
    }

    void gpuFromRecordedSystemStats()
    {
        QString error;
        const auto capture = cr::sim::Capture::load(u"H_endpoints"_s, &error);
        QVERIFY2(capture, qPrintable(error));
        QJsonObject stats;
        for (const auto &r : capture->http())
            if (r.dir == u"http_resp" && r.line.value(u"body_json").toObject().contains(u"devices"))
                stats = r.line.value(u"body_json").toObject();
        QVERIFY(!stats.isEmpty());
        const auto gpu = gpuFromSystemStats(stats);
        QVERIFY(gpu);
        QCOMPARE(gpu->name, u"cuda:0 NVIDIA H200 : native"_s);
        QCOMPARE(gpu->vramTotal, 150109880320ll);
        QCOMPARE(gpu->vramFree, 147174873088ll);
        QVERIFY(!gpuFromSystemStats(QJsonObject{{u"devices"_s, QJsonArray{}}}));
        QVERIFY(!gpuFromSystemStats(QJsonObject{}));
    }
};

QTEST_GUILESS_MAIN(TestBackendStatus)
#include "tst_backendstatus.moc"
