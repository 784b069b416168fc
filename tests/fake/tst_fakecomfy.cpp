// The fake ComfyUI (tests/support/fakecomfy.h) driven by a plain QNetworkAccessManager and QWebSocket, and
// compared with the recorded captures: event order and frame shapes of a run, cached re-runs, validation
// answers, queue/interrupt/history/upload behaviour, reconnect hints and the fault-injection knobs.

#include "tests/support/capture.h"
#include "tests/support/fakecomfy.h"
#include "tests/support/orderedjson.h"
#include "tests/support/wsprobe.h"

#include <QBuffer>
#include <QHttpMultiPart>
#include <QImage>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTest>
#include <QUrlQuery>
#include <QUuid>
#include <QWebSocket>
#include <QtEndian>

using cr::testing::Capture;
using cr::testing::CaptureRecord;
using cr::testing::FakeComfy;
using cr::testing::OrderedJson;

namespace {

using Frame = cr::testing::WsFrame;
using cr::testing::WsProbe;

struct HttpResult {
    int status = 0;
    QByteArray body;
    QByteArray contentType;
    QNetworkReply::NetworkError error = QNetworkReply::NoError;
    OrderedJson json() const { return OrderedJson::parse(body).value_or(OrderedJson()); }
};

OrderedJson workflowOf(const Capture &capture, int index = 0)
{
    int seen = 0;
    for (const CaptureRecord &r : capture.records) {
        if (r.dir == u"http_req" && r.line.value(QStringLiteral("path")).toString() == u"/prompt" && seen++ == index)
            return OrderedJson::parse(r.line.value(QStringLiteral("body_text")).toString().toUtf8()).value_or(OrderedJson()).value(u"prompt");
    }
    return {};
}

// The frames of the capture's run number `run` on `conn`: from the first frame after that POST /prompt up to
// and including `executing` with node null.
QList<Frame> captureRun(const Capture &capture, const QString &conn, int run = 0)
{
    QList<Frame> out;
    bool posted = false;
    int posts = 0;
    for (const CaptureRecord &r : capture.records) {
        if (r.dir == u"http_req" && r.line.value(QStringLiteral("path")).toString() == u"/prompt")
            posted = ++posts > run;
        if (!posted || r.dir != u"ws_in" || r.conn != conn)
            continue;
        Frame f;
        f.binary = r.isBinary();
        if (f.binary) {
            f.bytes = r.binary.isEmpty() ? FakeComfy::replayFrameBytes(r) : r.binary;
        } else {
            f.bytes = r.text;
            f.msg = OrderedJson::parse(r.text).value_or(OrderedJson());
        }
        out.append(f);
        if (f.type() == u"executing" && f.data().value(u"node").isNull())
            break;
    }
    return out;
}

QStringList types(const QList<Frame> &frames)
{
    QStringList t;
    for (const Frame &f : frames)
        t.append(f.type());
    return t;
}

QString newId()
{
    return QUuid::createUuid().toString(QUuid::WithoutBraces);
}

} // namespace

class TstFakeComfy : public QObject
{
    Q_OBJECT

private:
    QNetworkAccessManager m_nam;

    HttpResult http(const FakeComfy &fake, const QByteArray &method, const QString &pathAndQuery, const QByteArray &body = {},
                    int timeoutMs = 10000)
    {
        QNetworkRequest request(fake.httpUrl().resolved(QUrl(pathAndQuery)));
        request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
        request.setTransferTimeout(timeoutMs);
        QNetworkReply *reply = m_nam.sendCustomRequest(request, method, body);
        QSignalSpy finished(reply, &QNetworkReply::finished);
        if (!reply->isFinished())
            finished.wait(timeoutMs + 2000);
        HttpResult result;
        result.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        result.body = reply->isOpen() ? reply->readAll() : QByteArray();
        result.contentType = reply->header(QNetworkRequest::ContentTypeHeader).toByteArray();
        result.error = reply->error();
        reply->deleteLater();
        return result;
    }

    QString submit(const FakeComfy &fake, const OrderedJson &workflow, const QString &clientId, const OrderedJson &extra = {})
    {
        OrderedJson body = OrderedJson::object({{QStringLiteral("prompt"), workflow}});
        if (!clientId.isEmpty())
            body.insert(QStringLiteral("client_id"), clientId);
        if (!extra.isNull())
            body.insert(QStringLiteral("extra_data"), extra);
        const HttpResult r = http(fake, "POST", QStringLiteral("/prompt"), body.dump());
        if (r.status != 200)
            qWarning() << "POST /prompt failed" << r.status << r.body;
        return r.json().value(u"prompt_id").toString();
    }

    static OrderedJson withInput(OrderedJson workflow, const QString &node, const QString &input, const OrderedJson &value)
    {
        workflow.find(node)->find(u"inputs")->insert(input, value);
        return workflow;
    }

    OrderedJson m_workflowA;

private slots:
    void initTestCase()
    {
        const auto a = Capture::load(QStringLiteral("A_ksampler_ok"));
        QVERIFY(a);
        m_workflowA = workflowOf(*a);
        QVERIFY(m_workflowA.contains(u"3"));
    }

    // The frame sequence of a run (types in order, data keys in order, number types in progress_state)
    // equals the capture's, with and without negotiated preview metadata, fresh and cached.
    void runSequenceMatchesCapture_data()
    {
        QTest::addColumn<QString>("scenario");
        QTest::addColumn<QString>("warmup"); // a scenario whose prompt runs first (fills the cache)
        QTest::addColumn<bool>("flags");
        QTest::newRow("A_ksampler_ok: fresh, type-4 previews") << "A_ksampler_ok" << "" << true;
        QTest::newRow("A_noflags: loaders cached, type-1 previews") << "A_noflags" << "A_ksampler_ok" << false;
        QTest::newRow("B_cached_rerun: everything cached") << "B_cached_rerun" << "A_ksampler_ok" << true;
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
            return QString::fromUtf8(text).replace(promptId, QStringLiteral("PROMPT")).replace(timestamp, QStringLiteral("\"timestamp\": 0"));
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

    // Validation answers equal ComfyUI's bytes (C4's two errors come from a Python set, so their order is free).
    void validationMatchesCapture()
    {
        const auto capture = Capture::load(QStringLiteral("C_validation_error"));
        QVERIFY(capture);
        FakeComfy fake;
        QVERIFY(fake.listen());
        QHash<int, QByteArray> bodies;
        int compared = 0;
        for (const CaptureRecord &r : capture->records) {
            const int id = r.line.value(QStringLiteral("id")).toInt();
            if (r.dir == u"http_req" && r.line.value(QStringLiteral("path")).toString() == u"/prompt")
                bodies.insert(id, r.line.value(QStringLiteral("body_text")).toString().toUtf8());
            if (r.dir != u"http_resp" || !bodies.contains(id))
                continue;
            const HttpResult ours = http(fake, "POST", QStringLiteral("/prompt"), bodies.value(id));
            const QByteArray real = r.line.value(QStringLiteral("body_text")).toString().toUtf8();
            QCOMPARE(ours.status, r.line.value(QStringLiteral("status")).toInt());
            if (ours.body != real) { // compare with the error lists sorted by type
                auto normalise = [](OrderedJson j) {
                    OrderedJson *byNode = j.find(u"node_errors");
                    for (const QString &node : byNode->keys()) {
                        OrderedJson *entry = byNode->find(node);
                        std::vector<OrderedJson> errors = entry->value(u"errors").items();
                        std::sort(errors.begin(), errors.end(), [](const OrderedJson &a, const OrderedJson &b) {
                            return a.value(u"type").toString() < b.value(u"type").toString();
                        });
                        OrderedJson sorted = OrderedJson::array();
                        for (const OrderedJson &e : errors)
                            sorted.append(e);
                        entry->insert(QStringLiteral("errors"), sorted);
                    }
                    return j.dump();
                };
                QCOMPARE(normalise(ours.json()), normalise(OrderedJson::parse(real).value_or(OrderedJson())));
            }
            ++compared;
        }
        QCOMPARE(compared, 8);
        QCOMPARE(fake.promptCount(), 8);
        QVERIFY(fake.acceptedPromptIds().isEmpty());
        const HttpResult queue = http(fake, "GET", QStringLiteral("/queue"));
        QCOMPARE(queue.body, QByteArray("{\"queue_running\": [], \"queue_pending\": []}"));
    }

    // More validation rules, data-driven: each row mutates workflow A and expects one error type on one node.
    void validationRules_data()
    {
        QTest::addColumn<QString>("node");
        QTest::addColumn<QString>("input");
        QTest::addColumn<QByteArray>("valueJson");
        QTest::addColumn<QString>("errorType");
        QTest::newRow("cfg too big") << "3" << "cfg" << QByteArray("101.5") << "value_bigger_than_max";
        QTest::newRow("steps not an int") << "3" << "steps" << QByteArray("\"many\"") << "invalid_input_type";
        QTest::newRow("unknown checkpoint") << "4" << "ckpt_name" << QByteArray("\"nope.safetensors\"") << "value_not_in_list";
        QTest::newRow("bad link length") << "8" << "vae" << QByteArray("[\"4\"]") << "bad_linked_input";
        QTest::newRow("wrong link type") << "8" << "vae" << QByteArray("[\"4\", 0]") << "return_type_mismatch";
        QTest::newRow("width below min") << "5" << "width" << QByteArray("8") << "value_smaller_than_min";
    }
    void validationRules()
    {
        QFETCH(QString, node);
        QFETCH(QString, input);
        QFETCH(QByteArray, valueJson);
        QFETCH(QString, errorType);
        FakeComfy fake;
        QVERIFY(fake.listen());
        const OrderedJson workflow = withInput(m_workflowA, node, input, *OrderedJson::parse(valueJson));
        const HttpResult r = http(fake, "POST", QStringLiteral("/prompt"),
                                  OrderedJson::object({{QStringLiteral("prompt"), workflow}}).dump());
        QCOMPARE(r.status, 400);
        const OrderedJson body = r.json();
        QCOMPARE(body.value(u"error").value(u"type").toString(), QStringLiteral("prompt_outputs_failed_validation"));
        const OrderedJson &errors = body.value(u"node_errors").value(node).value(u"errors");
        QCOMPARE(errors.size(), 1);
        QCOMPARE(errors.at(0).value(u"type").toString(), errorType);
        QCOMPARE(errors.at(0).value(u"extra_info").value(u"input_name").toString(), input);
        QCOMPARE(body.value(u"node_errors").value(node).value(u"dependent_outputs").toStringList(), QStringList{QStringLiteral("9")});
    }

    // The client's prompt_id is used; values are coerced like ComfyUI (int -> float for FLOAT inputs).
    void promptIdAndCoercion()
    {
        FakeComfy fake;
        fake.setStepIntervalMs(1);
        fake.setPreviewsEnabled(false);
        QVERIFY(fake.listen());
        QSignalSpy finished(&fake, &FakeComfy::promptFinished);
        const QString id = QStringLiteral("my-own-id");
        OrderedJson body = OrderedJson::object({{QStringLiteral("prompt"), withInput(m_workflowA, QStringLiteral("3"), QStringLiteral("cfg"), 7)},
                                                {QStringLiteral("prompt_id"), id}});
        const HttpResult r = http(fake, "POST", QStringLiteral("/prompt"), body.dump());
        QCOMPARE(r.status, 200);
        QCOMPARE(r.body, QByteArray("{\"prompt_id\": \"my-own-id\", \"number\": 0, \"node_errors\": {}}"));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 10000);
        QCOMPARE(finished.first().at(0).toString(), id);
        const OrderedJson history = http(fake, "GET", QStringLiteral("/history/") + id).json();
        const OrderedJson cfg = history.value(id).value(u"prompt").at(2).value(u"3").value(u"inputs").value(u"cfg");
        QVERIFY(cfg.isFloat());
        QCOMPARE(cfg.dump(), QByteArray("7.0"));
    }

    // History entries and /view look like the capture's.
    void historyAndViewShapes()
    {
        const auto capture = Capture::load(QStringLiteral("A_ksampler_ok"));
        QVERIFY(capture);
        OrderedJson realEntry;
        for (const CaptureRecord &r : capture->records) {
            if (r.dir == u"http_resp" && r.line.value(QStringLiteral("id")).toInt() == 2)
                realEntry = OrderedJson::parse(r.line.value(QStringLiteral("body_text")).toString().toUtf8())->members().front().second;
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

        const HttpResult view = http(fake, "GET", QStringLiteral("/view?filename=rec_00001_.png&subfolder=&type=output"));
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

    // Targeted interrupt acts only on the running id; the run ends with execution_interrupted.
    void interrupt()
    {
        FakeComfy fake;
        fake.setStepIntervalMs(20);
        fake.setSteps(500);
        fake.setPreviewsEnabled(false);
        QVERIFY(fake.listen());
        WsProbe probe;
        QVERIFY(probe.open(fake.wsUrl(), newId(), true));
        const QString id = submit(fake, m_workflowA, probe.clientId);
        auto isProgress = [](const Frame &f) { return f.type() == u"progress"; };
        const qsizetype first = probe.indexOf(isProgress);
        QVERIFY(first >= 0);

        QCOMPARE(http(fake, "POST", QStringLiteral("/interrupt"), "{\"prompt_id\": \"someone-else\"}").status, 200);
        QVERIFY(probe.waitFor(isProgress, first + 1)); // still running
        QCOMPARE(http(fake, "POST", QStringLiteral("/interrupt"), OrderedJson::object({{QStringLiteral("prompt_id"), id}}).dump()).body,
                 QByteArray());
        const qsizetype at = probe.indexOf([](const Frame &f) { return f.type() == u"execution_interrupted"; });
        QVERIFY(at >= 0);
        const OrderedJson data = probe.frames.at(at).data(); // a copy: frames grows while we wait
        QCOMPARE(data.keys(), (QStringList{"prompt_id", "node_id", "node_type", "executed", "timestamp"}));
        QCOMPARE(data.value(u"node_id").toString(), QStringLiteral("3"));
        QCOMPARE(data.value(u"node_type").toString(), QStringLiteral("KSampler"));
        QCOMPARE(data.value(u"executed").size(), 4);
        QCOMPARE(types(probe.frames.mid(at + 1, 2)), (QStringList{"status", "executing"}));
        QCOMPARE(fake.interruptRequests(), (QStringList{QStringLiteral("someone-else"), id}));
        const OrderedJson status = http(fake, "GET", QStringLiteral("/history/") + id).json().value(id).value(u"status");
        QCOMPARE(status.value(u"status_str").toString(), QStringLiteral("error"));
        QCOMPARE(status.value(u"completed").toBool(), false);
        const OrderedJson &messages = status.value(u"messages");
        QCOMPARE(messages.at(messages.size() - 1).at(0).toString(), QStringLiteral("execution_interrupted"));

        // An interrupt while idle does not touch the next prompt.
        QCOMPARE(http(fake, "POST", QStringLiteral("/interrupt")).status, 200);
        fake.setSteps(2);
        QSignalSpy finished(&fake, &FakeComfy::promptFinished);
        submit(fake, m_workflowA, probe.clientId);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 10000);
        QCOMPARE(finished.first().at(1).toString(), QStringLiteral("success"));
    }

    // /queue shows 5-element items; POST /queue {"delete"} removes a pending prompt, which never runs.
    void queueAndDelete()
    {
        FakeComfy fake;
        fake.setStepIntervalMs(20);
        fake.setSteps(25);
        fake.setPreviewsEnabled(false);
        QVERIFY(fake.listen());
        WsProbe probe;
        QVERIFY(probe.open(fake.wsUrl(), newId(), true));
        const QString a = submit(fake, m_workflowA, probe.clientId);
        const QString b = submit(fake, withInput(m_workflowA, QStringLiteral("3"), QStringLiteral("seed"), 2), probe.clientId);
        const QString c = submit(fake, withInput(m_workflowA, QStringLiteral("3"), QStringLiteral("seed"), 3), probe.clientId);
        QVERIFY(probe.waitFor([](const Frame &f) { return f.type() == u"execution_start"; }));

        const OrderedJson queue = http(fake, "GET", QStringLiteral("/queue")).json();
        QCOMPARE(queue.keys(), (QStringList{"queue_running", "queue_pending"}));
        QCOMPARE(queue.value(u"queue_running").size(), 1);
        QCOMPARE(queue.value(u"queue_running").at(0).size(), 5);
        QCOMPARE(queue.value(u"queue_running").at(0).at(1).toString(), a);
        QCOMPARE(queue.value(u"queue_pending").size(), 2);
        QCOMPARE(queue.value(u"queue_pending").at(0).at(0).toInt(), 1);
        QCOMPARE(fake.pendingPromptIds(), (QStringList{b, c}));

        const qsizetype before = probe.frames.size();
        QCOMPARE(http(fake, "POST", QStringLiteral("/queue"), OrderedJson::object({{QStringLiteral("delete"), OrderedJson::array({b})}}).dump()).status,
                 200);
        const qsizetype status = probe.indexOf([](const Frame &f) { return f.type() == u"status"; }, before);
        QVERIFY(status >= 0);
        QCOMPARE(probe.frames.at(status).data().value(u"status").value(u"exec_info").value(u"queue_remaining").toInt(), 2);
        QCOMPARE(fake.deleteRequests(), QStringList{b});
        QCOMPARE(fake.pendingPromptIds(), QStringList{c});
        QVERIFY(probe.waitDone(c) >= 0);
        QCOMPARE(fake.historyIds(), (QStringList{a, c}));
        QCOMPARE(http(fake, "GET", QStringLiteral("/prompt")).body, QByteArray("{\"exec_info\": {\"queue_remaining\": 0}}"));
    }

    // POST /upload/image renames like ComfyUI, and LoadImage validates against the uploads.
    void upload()
    {
        FakeComfy fake;
        QVERIFY(fake.listen());
        auto upload = [&](const QByteArray &bytes, const QList<std::pair<QByteArray, QByteArray>> &fields, bool withImage = true) {
            auto *multi = new QHttpMultiPart(QHttpMultiPart::FormDataType);
            if (withImage) {
                QHttpPart image;
                image.setHeader(QNetworkRequest::ContentDispositionHeader, "form-data; name=\"image\"; filename=\"capture_upload.png\"");
                image.setHeader(QNetworkRequest::ContentTypeHeader, "image/png");
                image.setBody(bytes);
                multi->append(image);
            }
            for (const auto &[name, value] : fields) {
                QHttpPart part;
                part.setHeader(QNetworkRequest::ContentDispositionHeader, "form-data; name=\"" + name + "\"");
                part.setBody(value);
                multi->append(part);
            }
            QNetworkReply *reply = m_nam.post(QNetworkRequest(fake.httpUrl().resolved(QUrl(QStringLiteral("/upload/image")))), multi);
            multi->setParent(reply);
            QSignalSpy finished(reply, &QNetworkReply::finished);
            finished.wait(10000);
            HttpResult r{reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), reply->readAll(), {}, reply->error()};
            reply->deleteLater();
            return r;
        };
        auto pngOf = [](QColor color) {
            QImage image(8, 8, QImage::Format_RGB32);
            image.fill(color);
            QByteArray bytes;
            QBuffer buffer(&bytes);
            buffer.open(QIODevice::WriteOnly);
            image.save(&buffer, "PNG");
            return bytes;
        };
        const QByteArray first = pngOf(Qt::red);
        const QByteArray second = pngOf(Qt::blue);
        QCOMPARE(upload(first, {{"type", "input"}}).body, QByteArray("{\"name\": \"capture_upload.png\", \"subfolder\": \"\", \"type\": \"input\"}"));
        QCOMPARE(upload(first, {{"type", "input"}}).json().value(u"name").toString(), QStringLiteral("capture_upload.png"));
        QCOMPARE(upload(second, {{"type", "input"}}).json().value(u"name").toString(), QStringLiteral("capture_upload (1).png"));
        const HttpResult overwritten = upload(second, {{"type", "input"}, {"subfolder", "capture"}, {"overwrite", "true"}});
        QCOMPARE(overwritten.body, QByteArray("{\"name\": \"capture_upload.png\", \"subfolder\": \"capture\", \"type\": \"input\"}"));
        QCOMPARE(upload({}, {{"type", "input"}}, false).status, 400);
        QCOMPARE(http(fake, "GET", QStringLiteral("/view?filename=capture_upload+(1).png&type=input")).body, second);
        QCOMPARE(http(fake, "GET", QStringLiteral("/view?filename=capture_upload.png&subfolder=capture&type=input")).body, second);
        const QStringList listed = http(fake, "GET", QStringLiteral("/object_info/LoadImage")).json()
                                       .value(u"LoadImage").value(u"input").value(u"required").value(u"image").at(0).toStringList();
        QCOMPARE(listed, (QStringList{"capture_upload (1).png", "capture_upload.png", "example.png"}));

        const OrderedJson load = OrderedJson::object(
            {{QStringLiteral("10"), OrderedJson::object({{QStringLiteral("class_type"), "LoadImage"},
                                                         {QStringLiteral("inputs"), OrderedJson::object({{QStringLiteral("image"), "capture/capture_upload.png"}})}})},
             {QStringLiteral("12"), OrderedJson::object({{QStringLiteral("class_type"), "SaveImage"},
                                                         {QStringLiteral("inputs"), OrderedJson::object({{QStringLiteral("filename_prefix"), "x"},
                                                                                                         {QStringLiteral("images"), OrderedJson::array({"10", 0})}})}})}});
        QCOMPARE(http(fake, "POST", QStringLiteral("/prompt"), OrderedJson::object({{QStringLiteral("prompt"), load}}).dump()).status, 200);
        OrderedJson missing = load;
        missing.find(u"10")->find(u"inputs")->insert(QStringLiteral("image"), "nope.png");
        const HttpResult bad = http(fake, "POST", QStringLiteral("/prompt"), OrderedJson::object({{QStringLiteral("prompt"), missing}}).dump());
        QCOMPARE(bad.status, 400);
        const OrderedJson badBody = bad.json();
        const OrderedJson &error = badBody.value(u"node_errors").value(u"10").value(u"errors").at(0);
        QCOMPARE(error.value(u"type").toString(), QStringLiteral("custom_validation_failed"));
        QCOMPARE(error.value(u"details").toString(), QStringLiteral("image - Invalid image file: nope.png"));
    }

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
        QCOMPARE(types(probe.frames.mid(at - 2, 5)), (QStringList{"progress_state", "executing", "execution_error", "status", "executing"}));

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
        QVERIFY(watcher.waitFor([](const Frame &f) { return f.type() == u"status" && f.data().value(u"status").value(u"exec_info").value(u"queue_remaining").toInt() == 0; }, 2));
        QSet<QString> seen;
        for (const Frame &f : std::as_const(watcher.frames))
            seen.insert(f.type());
        QCOMPARE(seen, (QSet<QString>{"status", "feature_flags", "progress_state", "progress", "BIN1"}));
        QCOMPARE(http(fake, "GET", QStringLiteral("/history/") + id).json().value(id).value(u"status").value(u"status_str").toString(),
                 QStringLiteral("success"));
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
        const HttpResult again = http(fake, "POST", QStringLiteral("/prompt"), OrderedJson::object({{QStringLiteral("prompt"), m_workflowA}}).dump());
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

    // ComfyUI's origin_only_middleware: a loopback Host with a different Origin gets an empty 403.
    void originCheck_data()
    {
        QTest::addColumn<QString>("origin"); // %1 = the fake's port
        QTest::addColumn<int>("status");
        QTest::newRow("no Origin") << QString() << 200;
        QTest::newRow("same host and port") << "http://127.0.0.1:%1" << 200;
        QTest::newRow("Origin without port") << "http://127.0.0.1" << 200;
        QTest::newRow("localhost is not 127.0.0.1") << "http://localhost:%1" << 403;
        QTest::newRow("a browser app") << "http://app.example:3000" << 403;
    }
    void originCheck()
    {
        QFETCH(QString, origin);
        QFETCH(int, status);
        FakeComfy fake;
        QVERIFY(fake.listen());
        QNetworkRequest request(fake.httpUrl().resolved(QUrl(QStringLiteral("/queue"))));
        if (!origin.isEmpty())
            request.setRawHeader("Origin", origin.contains(u"%1") ? origin.arg(fake.port()).toLatin1() : origin.toLatin1());
        QNetworkReply *reply = m_nam.get(request);
        QSignalSpy finished(reply, &QNetworkReply::finished);
        QVERIFY(finished.wait(10000));
        QCOMPARE(reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), status);
        if (status == 403)
            QVERIFY(reply->readAll().isEmpty());
        reply->deleteLater();
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
            QCOMPARE(probe.frames.at(start + i).bytes, recorded.at(i).isText() ? recorded.at(i).text : recorded.at(i).binary);
    }
};

QTEST_MAIN(TstFakeComfy)
#include "tst_fakecomfy.moc"
