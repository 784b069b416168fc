// The fake ComfyUI's HTTP side: validation answers (against capture C and rule by rule), prompt ids and value
// coercion, targeted interrupts, /queue and deletes, image uploads, the Origin check, aiohttp's status lines
// and OrderedJson's unicode escapes.

#include "tests/fake/fakecomfytesthelpers.h"

#include <QBuffer>
#include <QHttpMultiPart>
#include <QImage>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QTest>

using namespace cr::testing::fakecomfytest;

class TstFakeComfyHttp : public QObject, protected FakeComfyHttpClient
{
    Q_OBJECT

private:
    static OrderedJson withInput(OrderedJson workflow, const QString &node, const QString &input,
                                 const OrderedJson &value)
    {
        workflow.find(node)->find(u"inputs")->insert(input, value);
        return workflow;
    }

private slots:
    void initTestCase() { QVERIFY(m_workflowA.contains(u"3")); }

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
        QTest::newRow("cfg too big") << "3"
                                     << "cfg" << QByteArray("101.5") << "value_bigger_than_max";
        QTest::newRow("steps not an int") << "3"
                                          << "steps" << QByteArray("\"many\"") << "invalid_input_type";
        QTest::newRow("unknown checkpoint") << "4"
                                            << "ckpt_name" << QByteArray("\"nope.safetensors\"") << "value_not_in_list";
        QTest::newRow("bad link length") << "8"
                                         << "vae" << QByteArray("[\"4\"]") << "bad_linked_input";
        QTest::newRow("wrong link type") << "8"
                                         << "vae" << QByteArray("[\"4\", 0]") << "return_type_mismatch";
        QTest::newRow("width below min") << "5"
                                         << "width" << QByteArray("8") << "value_smaller_than_min";
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
        QCOMPARE(body.value(u"node_errors").value(node).value(u"dependent_outputs").toStringList(),
                 QStringList{QStringLiteral("9")});
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
        OrderedJson body = OrderedJson::object(
            {{QStringLiteral("prompt"), withInput(m_workflowA, QStringLiteral("3"), QStringLiteral("cfg"), 7)},
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
        QCOMPARE(http(fake, "POST", QStringLiteral("/interrupt"),
                      OrderedJson::object({{QStringLiteral("prompt_id"), id}}).dump())
                     .body,
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
        const OrderedJson status
            = http(fake, "GET", QStringLiteral("/history/") + id).json().value(id).value(u"status");
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
        const QString b
            = submit(fake, withInput(m_workflowA, QStringLiteral("3"), QStringLiteral("seed"), 2), probe.clientId);
        const QString c
            = submit(fake, withInput(m_workflowA, QStringLiteral("3"), QStringLiteral("seed"), 3), probe.clientId);
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
        QCOMPARE(http(fake, "POST", QStringLiteral("/queue"),
                      OrderedJson::object({{QStringLiteral("delete"), OrderedJson::array({b})}}).dump())
                     .status,
                 200);
        const qsizetype status = probe.indexOf([](const Frame &f) { return f.type() == u"status"; }, before);
        QVERIFY(status >= 0);
        QCOMPARE(probe.frames.at(status).data().value(u"status").value(u"exec_info").value(u"queue_remaining").toInt(),
                 2);
        QCOMPARE(fake.deleteRequests(), QStringList{b});
        QCOMPARE(fake.pendingPromptIds(), QStringList{c});
        QVERIFY(probe.waitDone(c) >= 0);
        QCOMPARE(fake.historyIds(), (QStringList{a, c}));
        QCOMPARE(http(fake, "GET", QStringLiteral("/prompt")).body,
                 QByteArray("{\"exec_info\": {\"queue_remaining\": 0}}"));
    }

    // POST /upload/image renames like ComfyUI, and LoadImage validates against the uploads.
    void upload()
    {
        FakeComfy fake;
        QVERIFY(fake.listen());
        auto upload = [&](const QByteArray &bytes, const QList<std::pair<QByteArray, QByteArray>> &fields,
                          bool withImage = true) {
            auto *multi = new QHttpMultiPart(QHttpMultiPart::FormDataType);
            if (withImage) {
                QHttpPart image;
                image.setHeader(QNetworkRequest::ContentDispositionHeader,
                                "form-data; name=\"image\"; filename=\"capture_upload.png\"");
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
            QNetworkReply *reply
                = m_nam.post(QNetworkRequest(fake.httpUrl().resolved(QUrl(QStringLiteral("/upload/image")))), multi);
            multi->setParent(reply);
            QSignalSpy finished(reply, &QNetworkReply::finished);
            finished.wait(10000);
            HttpResult r{reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(),
                         reply->readAll(),
                         {},
                         reply->error()};
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
        QCOMPARE(upload(first, {{"type", "input"}}).body,
                 QByteArray("{\"name\": \"capture_upload.png\", \"subfolder\": \"\", \"type\": \"input\"}"));
        QCOMPARE(upload(first, {{"type", "input"}}).json().value(u"name").toString(),
                 QStringLiteral("capture_upload.png"));
        QCOMPARE(upload(second, {{"type", "input"}}).json().value(u"name").toString(),
                 QStringLiteral("capture_upload (1).png"));
        const HttpResult overwritten
            = upload(second, {{"type", "input"}, {"subfolder", "capture"}, {"overwrite", "true"}});
        QCOMPARE(overwritten.body,
                 QByteArray("{\"name\": \"capture_upload.png\", \"subfolder\": \"capture\", \"type\": \"input\"}"));
        QCOMPARE(upload({}, {{"type", "input"}}, false).status, 400);
        QCOMPARE(http(fake, "GET", QStringLiteral("/view?filename=capture_upload+(1).png&type=input")).body, second);
        QCOMPARE(
            http(fake, "GET", QStringLiteral("/view?filename=capture_upload.png&subfolder=capture&type=input")).body,
            second);
        const QStringList listed = http(fake, "GET", QStringLiteral("/object_info/LoadImage"))
                                       .json()
                                       .value(u"LoadImage")
                                       .value(u"input")
                                       .value(u"required")
                                       .value(u"image")
                                       .at(0)
                                       .toStringList();
        QCOMPARE(listed, (QStringList{"capture_upload (1).png", "capture_upload.png", "example.png"}));

        const OrderedJson load = OrderedJson::object(
            {{QStringLiteral("10"),
              OrderedJson::object({{QStringLiteral("class_type"), "LoadImage"},
                                   {QStringLiteral("inputs"),
                                    OrderedJson::object({{QStringLiteral("image"), "capture/capture_upload.png"}})}})},
             {QStringLiteral("12"),
              OrderedJson::object(
                  {{QStringLiteral("class_type"), "SaveImage"},
                   {QStringLiteral("inputs"),
                    OrderedJson::object({{QStringLiteral("filename_prefix"), "x"},
                                         {QStringLiteral("images"), OrderedJson::array({"10", 0})}})}})}});
        QCOMPARE(http(fake, "POST", QStringLiteral("/prompt"),
                      OrderedJson::object({{QStringLiteral("prompt"), load}}).dump())
                     .status,
                 200);
        OrderedJson missing = load;
        missing.find(u"10")->find(u"inputs")->insert(QStringLiteral("image"), "nope.png");
        const HttpResult bad = http(fake, "POST", QStringLiteral("/prompt"),
                                    OrderedJson::object({{QStringLiteral("prompt"), missing}}).dump());
        QCOMPARE(bad.status, 400);
        const OrderedJson badBody = bad.json();
        const OrderedJson &error = badBody.value(u"node_errors").value(u"10").value(u"errors").at(0);
        QCOMPARE(error.value(u"type").toString(), QStringLiteral("custom_validation_failed"));
        QCOMPARE(error.value(u"details").toString(), QStringLiteral("image - Invalid image file: nope.png"));
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
            request.setRawHeader("Origin",
                                 origin.contains(u"%1") ? origin.arg(fake.port()).toLatin1() : origin.toLatin1());
        QNetworkReply *reply = m_nam.get(request);
        QSignalSpy finished(reply, &QNetworkReply::finished);
        QVERIFY(finished.wait(10000));
        QCOMPARE(reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), status);
        if (status == 403)
            QVERIFY(reply->readAll().isEmpty());
        reply->deleteLater();
    }

    // The raw status line carries aiohttp's reason phrase (Python 3.12's wording for 413).
    void statusLines_data()
    {
        QTest::addColumn<QByteArray>("request");
        QTest::addColumn<QByteArray>("statusLine");
        QTest::newRow("unknown route") << QByteArray("GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                                       << QByteArray("HTTP/1.1 404 Not Found\r\n");
        QTest::newRow("body too large") << QByteArray(
            "POST /prompt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 999999999999\r\n\r\n")
                                        << QByteArray("HTTP/1.1 413 Request Entity Too Large\r\n");
        QTest::newRow("header too large")
            << QByteArray("GET /queue HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + QByteArray(70 * 1024, 'a') + "\r\n\r\n")
            << QByteArray("HTTP/1.1 431 Request Header Fields Too Large\r\n");
    }
    void statusLines()
    {
        QFETCH(QByteArray, request);
        QFETCH(QByteArray, statusLine);
        FakeComfy fake;
        QVERIFY(fake.listen());
        QTcpSocket socket;
        QSignalSpy connected(&socket, &QTcpSocket::connected);
        socket.connectToHost(QHostAddress::LocalHost, fake.port());
        QVERIFY(connected.wait(10000));
        socket.write(request);
        QByteArray answer;
        QTRY_VERIFY_WITH_TIMEOUT((answer += socket.readAll()).contains("\r\n"), 10000);
        QVERIFY2(answer.startsWith(statusLine), answer.left(80).constData());
    }

    // Escapes decode through the shared protocol helper: either hex case, surrogate pairs, and bad digits fail.
    void parsesUnicodeEscapes()
    {
        const QByteArray text = "{\"k\": \"caf\\u00E9 \\u00e9 \\ud83d\\ude00\"}";
        const std::optional<OrderedJson> parsed = OrderedJson::parse(text);
        QVERIFY(parsed);
        QCOMPARE(parsed->value(u"k").toString(), QStringLiteral("caf\u00e9 \u00e9 \U0001F600"));
        QCOMPARE(parsed->dump(), QByteArray("{\"k\": \"caf\\u00e9 \\u00e9 \\ud83d\\ude00\"}"));
        QVERIFY(!OrderedJson::parse("[\"\\u00g0\"]"));
        QVERIFY(!OrderedJson::parse("[\"\\u00"));
    }
};

QTEST_MAIN(TstFakeComfyHttp)
#include "tst_fakecomfyhttp.moc"
