// The fake ComfyUI's runs compared with the recorded captures: event order and frame shapes of fresh and
// cached runs, history entries and /view, real changing previews, broadcasts without a client_id, replay.

#include "tests/fake/fakecomfytesthelpers.h"

#include <QImage>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTest>
#include <QtEndian>

using namespace cr::testing::fakecomfytest;

class TstFakeComfyRuns : public QObject, protected FakeComfyHttpClient
{
    Q_OBJECT

private slots:
    void initTestCase() { QVERIFY(m_workflowA.contains(u"3")); }

    // The frame sequence of a run (types in order, data keys in order, number types in progress_state)
    // equals the capture's, with and without negotiated preview metadata, fresh and cached.
    void runSequenceMatchesCapture_data()
    {
        QTest::addColumn<QString>("scenario");
        QTest::addColumn<QString>("warmup"); // a scenario whose prompt runs first (fills the cache)
        QTest::addColumn<bool>("flags");
        QTest::newRow("A_ksampler_ok: fresh, type-4 previews") << "A_ksampler_ok"
                                                               << "" << true;
        QTest::newRow("A_noflags: loaders cached, type-1 previews") << "A_noflags"
                                                                    << "A_ksampler_ok" << false;
        QTest::newRow("B_cached_rerun: everything cached") << "B_cached_rerun"
                                                           << "A_ksampler_ok" << true;
    }
    void runSequenceMatchesCapture()
    {
        QFETCH(QString, scenario);
        QFETCH(QString, warmup);
        QFETCH(bool, flags);
        const auto capture = Capture::load(scenario);
        QVERIFY(capture);
        const QList<Frame> expected = captureRun(*capture, QStringLiteral("c1"));
        QVERIFY(expected.size() > 5);

        FakeComfy fake;
        fake.setStepIntervalMs(2);
        fake.setPreviewSize(64);
        QVERIFY(fake.listen());
        WsProbe probe;
        QVERIFY(probe.open(fake.wsUrl(), newId(), flags));
        if (!warmup.isEmpty()) {
            const QString id = submit(fake, workflowOf(*Capture::load(warmup)), probe.clientId);
            QVERIFY(probe.waitDone(id) >= 0);
        }
        const qsizetype start = probe.frames.size();
        const QString id = submit(fake, workflowOf(*capture), probe.clientId);
        const qsizetype end = probe.waitDone(id, start);
        QVERIFY(end >= 0);
        const QList<Frame> actual = probe.frames.mid(start, end - start + 1);

        QCOMPARE(types(actual), types(expected));
        QString realId;
        for (const Frame &f : expected) {
            if (f.type() == u"execution_start")
                realId = f.data().value(u"prompt_id").toString();
        }
        // Text frames are byte-identical once prompt ids and timestamps are normalised.
        static const QRegularExpression timestamp(QStringLiteral("\"timestamp\": \\d+"));
        auto normalise = [](const QByteArray &text, const QString &promptId) {
            return QString::fromUtf8(text)
                .replace(promptId, QStringLiteral("PROMPT"))
                .replace(timestamp, QStringLiteral("\"timestamp\": 0"));
        };
        for (qsizetype i = 0; i < actual.size(); ++i) {
            const Frame &ours = actual.at(i), &real = expected.at(i);
            if (!ours.binary) {
                QCOMPARE(normalise(ours.bytes, id), normalise(real.bytes, realId));
                continue;
            }
            QCOMPARE(ours.bytes.left(4), real.bytes.left(4));
            if (ours.type() == u"BIN1") {
                QCOMPARE(ours.bytes.left(8), real.bytes.left(8)); // same image format code
            } else {
                const quint32 metaLen = qFromBigEndian<quint32>(ours.bytes.constData() + 4);
                const quint32 realLen = qFromBigEndian<quint32>(real.bytes.constData() + 4);
                QCOMPARE(normalise(ours.bytes.mid(8, metaLen), id), normalise(real.bytes.mid(8, realLen), realId));
            }
        }
    }

    // History entries and /view look like the capture's.
    void historyAndViewShapes()
    {
        const auto capture = Capture::load(QStringLiteral("A_ksampler_ok"));
        QVERIFY(capture);
        OrderedJson realEntry;
        for (const CaptureRecord &r : capture->records) {
            if (r.dir == u"http_resp" && r.line.value(QStringLiteral("id")).toInt() == 2)
                realEntry = OrderedJson::parse(r.line.value(QStringLiteral("body_text")).toString().toUtf8())
                                ->members()
                                .front()
                                .second;
        }
        QVERIFY(realEntry.isObject());

        FakeComfy fake;
        fake.setStepIntervalMs(1);
        fake.setPreviewSize(32);
        QVERIFY(fake.listen());
        WsProbe probe;
        QVERIFY(probe.open(fake.wsUrl(), newId(), true));
        const QString id = submit(fake, m_workflowA, probe.clientId);
        QVERIFY(probe.waitDone(id) >= 0);

        const HttpResult h = http(fake, "GET", QStringLiteral("/history/") + id);
        QCOMPARE(h.status, 200);
        QCOMPARE(h.contentType, QByteArray("application/json; charset=utf-8"));
        const OrderedJson entry = h.json().value(id);
        QCOMPARE(entry.keys(), realEntry.keys());
        QCOMPARE(entry.value(u"prompt").size(), 5);
        QCOMPARE(entry.value(u"prompt").at(3).keys(), realEntry.value(u"prompt").at(3).keys());
        QCOMPARE(entry.value(u"prompt").at(4).toStringList(), QStringList{QStringLiteral("9")});
        QCOMPARE(entry.value(u"status").keys(), realEntry.value(u"status").keys());
        QStringList events, realEvents;
        for (const OrderedJson &m : entry.value(u"status").value(u"messages").items())
            events.append(m.at(0).toString());
        for (const OrderedJson &m : realEntry.value(u"status").value(u"messages").items())
            realEvents.append(m.at(0).toString());
        QCOMPARE(events, realEvents);
        QCOMPARE(entry.value(u"meta").value(u"9").dump(), realEntry.value(u"meta").value(u"9").dump());
        const OrderedJson image = entry.value(u"outputs").value(u"9").value(u"images").at(0);
        QCOMPARE(image.value(u"filename").toString(), QStringLiteral("rec_00001_.png"));
        QCOMPARE(image.keys(), realEntry.value(u"outputs").value(u"9").value(u"images").at(0).keys());

        const HttpResult view
            = http(fake, "GET", QStringLiteral("/view?filename=rec_00001_.png&subfolder=&type=output"));
        QCOMPARE(view.status, 200);
        QCOMPARE(view.contentType, QByteArray("image/png"));
        QCOMPARE(QImage::fromData(view.body).size(), QSize(512, 512));
        QCOMPARE(http(fake, "GET", QStringLiteral("/view?filename=missing.png")).status, 404);
        QCOMPARE(http(fake, "GET", QStringLiteral("/view?filename=..%2Fx.png")).status, 400);
        QCOMPARE(http(fake, "GET", QStringLiteral("/view?filename=rec_00001_.png&type=bogus")).status, 400);
        QCOMPARE(http(fake, "GET", QStringLiteral("/history/unknown")).body, QByteArray("{}"));
        QCOMPARE(http(fake, "GET", QStringLiteral("/api/history?max_items=1")).json().keys(), QStringList{id});
    }

    // Previews are real JPEGs of the configured size, and each step's differs from the last.
    void previewsAreRealAndChange()
    {
        FakeComfy fake;
        fake.setStepIntervalMs(1);
        fake.setPreviewSize(96);
        fake.setSteps(4);
        QVERIFY(fake.listen());
        WsProbe probe;
        QVERIFY(probe.open(fake.wsUrl(), newId(), true));
        const QString id = submit(fake, m_workflowA, probe.clientId);
        QVERIFY(probe.waitDone(id) >= 0);
        QList<QImage> previews;
        for (const Frame &f : std::as_const(probe.frames)) {
            if (f.type() != u"BIN4")
                continue;
            const quint32 metaLen = qFromBigEndian<quint32>(f.bytes.constData() + 4);
            const OrderedJson meta = *OrderedJson::parse(f.bytes.mid(8, metaLen));
            QCOMPARE(meta.value(u"prompt_id").toString(), id);
            QCOMPARE(meta.value(u"image_type").toString(), QStringLiteral("image/jpeg"));
            previews.append(QImage::fromData(f.bytes.mid(8 + metaLen), "JPEG"));
        }
        QCOMPARE(previews.size(), 4);
        for (qsizetype i = 0; i < previews.size(); ++i) {
            QCOMPARE(previews.at(i).size(), QSize(96, 96));
            if (i > 0)
                QVERIFY(previews.at(i) != previews.at(i - 1));
        }
    }

    // Without a client_id only broadcasts flow: status, progress(_state) and type-1 previews.
    void noClientIdBroadcasts()
    {
        FakeComfy fake;
        fake.setStepIntervalMs(1);
        fake.setSteps(3);
        fake.setPreviewSize(32);
        QVERIFY(fake.listen());
        WsProbe watcher;
        QVERIFY(watcher.open(fake.wsUrl(), newId(), true));
        QSignalSpy finished(&fake, &FakeComfy::promptFinished);
        const QString id = submit(fake, m_workflowA, QString());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 10000);
        QVERIFY(watcher.waitFor(
            [](const Frame &f) {
                return f.type() == u"status"
                    && f.data().value(u"status").value(u"exec_info").value(u"queue_remaining").toInt() == 0;
            },
            2));
        QSet<QString> seen;
        for (const Frame &f : std::as_const(watcher.frames))
            seen.insert(f.type());
        QCOMPARE(seen, (QSet<QString>{"status", "feature_flags", "progress_state", "progress", "BIN1"}));
        QCOMPARE(http(fake, "GET", QStringLiteral("/history/") + id)
                     .json()
                     .value(id)
                     .value(u"status")
                     .value(u"status_str")
                     .toString(),
                 QStringLiteral("success"));
    }

    // Replay sends every recorded frame: text byte-identical, binary from the .bin files.
    void replay()
    {
        const auto capture = Capture::load(QStringLiteral("A_ksampler_ok"));
        QVERIFY(capture);
        FakeComfy fake;
        QVERIFY(fake.listen());
        WsProbe probe;
        QVERIFY(probe.open(fake.wsUrl(), newId(), false));
        const qsizetype start = probe.frames.size();
        const QList<CaptureRecord> recorded = capture->wsIn();
        QCOMPARE(fake.replayCapture(*capture), int(recorded.size()));
        QTRY_COMPARE_WITH_TIMEOUT(probe.frames.size() - start, recorded.size(), 10000);
        for (qsizetype i = 0; i < recorded.size(); ++i)
            QCOMPARE(probe.frames.at(start + i).bytes,
                     recorded.at(i).isText() ? recorded.at(i).text : recorded.at(i).binary);
    }
};

QTEST_MAIN(TstFakeComfyRuns)
#include "tst_fakecomfyruns.moc"
