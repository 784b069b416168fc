// The Python comfy_runner's answers are a frozen contract (docs/api.md, "The Python project's routes"): one
// test per row of that table pins every key its clients read, STATUS first, over real HTTP against the
// fake ComfyUI. A key that disappears or a sentence that changes fails here. Also: node ids are strings
// (subgraph exports flatten nodes to ids like "194:45") on every route.

#include "tests/api/apitestenv.h"
#include "tests/api/rawclient.h"

#include <QJsonArray>
#include <QWebSocket>
#include <QtTest>

using namespace cr;
using namespace cr::testing;

namespace {

const QString kStatus = QStringLiteral("STATUS");

// Every key of `keys` is present in `o`.
bool hasKeys(const QJsonObject &o, const QStringList &keys, QString *missing)
{
    for (const QString &k : keys) {
        if (!o.contains(k)) {
            *missing = k + QStringLiteral(" in ") + QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact));
            return false;
        }
    }
    return true;
}

#define VERIFY_KEYS(obj, ...)                                                                                          \
    do {                                                                                                               \
        QString missing_;                                                                                              \
        QVERIFY2(hasKeys(obj, QStringList{__VA_ARGS__}, &missing_),                                                    \
                 qPrintable(QStringLiteral("missing ") + missing_));                                                   \
    } while (false)

// A legacy error answer: STATUS (exactly `status` when given) and our error object with `code`.
void verifyLegacyError(const HttpResult &r, int httpStatus, const QString &code, const QString &status = {})
{
    QCOMPARE(r.status, httpStatus);
    const QJsonObject o = r.json();
    VERIFY_KEYS(o, kStatus, u"error"_qs);
    QCOMPARE(r.errorCode(), code);
    QVERIFY(!o.value(kStatus).toString().isEmpty());
    if (!status.isEmpty())
        QCOMPARE(o.value(kStatus).toString(), status);
}

// Writes a workflow file into the env's workflows folder and makes it the active one.
bool activate(ApiTestEnv &env, const QString &name, const QJsonObject &graph)
{
    QFile f(env.workflowsDir() + QLatin1Char('/') + name + QStringLiteral(".json"));
    if (!f.open(QIODevice::WriteOnly))
        return false;
    f.write(QJsonDocument(graph).toJson());
    f.close();
    const QByteArray body = QJsonDocument(QJsonObject{{QStringLiteral("name"), name}}).toJson();
    // The store picks the new file up on its own; wait until the switch is accepted.
    return QTest::qWaitFor(
        [&] { return env.call("PUT", QStringLiteral("/api/v1/draft/workflow"), body).status == 200; }, 5000);
}

QJsonObject sd15(ApiTestEnv &env)
{
    QFile f(env.workflowsDir() + QStringLiteral("/sd15.json"));
    return f.open(QIODevice::ReadOnly) ? QJsonDocument::fromJson(f.readAll()).object() : QJsonObject();
}

// sd15 as a subgraph export flattens it: every id becomes "194:<id>", the positive prompt "194:45".
QJsonObject subgraphIds(const QJsonObject &graph)
{
    auto rename = [](const QString &id) { return id == u"6" ? QStringLiteral("194:45") : QStringLiteral("194:") + id; };
    QJsonObject out;
    for (auto node = graph.begin(); node != graph.end(); ++node) {
        QJsonObject n = node.value().toObject();
        QJsonObject inputs = n.value(QStringLiteral("inputs")).toObject();
        for (auto in = inputs.begin(); in != inputs.end(); ++in) {
            if (in.value().isArray()) {
                QJsonArray link = in.value().toArray();
                link[0] = rename(link.at(0).toString());
                in.value() = link;
            }
        }
        n.insert(QStringLiteral("inputs"), inputs);
        out.insert(rename(node.key()), n);
    }
    return out;
}

} // namespace

class TstApiLegacy : public QObject
{
    Q_OBJECT

private slots:
    void health();
    void statusIdleAndKeys();
    void statusFollowsRuns();
    void queueSuccess();
    void queueNoImage();
    void queueFailedRun();
    void queueTimeout();
    void nothingLoaded_data();
    void nothingLoaded();
    void updateTextAndPrompt();
    void updateTextErrors_data();
    void updateTextErrors();
    void updateImage();
    void interrupt();
    void errorsOfEveryLegacyRouteCarryStatus();
    void refusalsBelowTheRouterCarryStatus_data();
    void refusalsBelowTheRouterCarryStatus();
    void relayImageGeneratedIsFlat();
    void subgraphNodeIds();
};

void TstApiLegacy::health()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    const HttpResult r = env.call("GET", QStringLiteral("/health"));
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json().value(kStatus).toString(), QStringLiteral("ComfyUI Workflow Runner is running"));
}

void TstApiLegacy::statusIdleAndKeys()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    QWebSocket ws;
    QSignalSpy connected(&ws, &QWebSocket::connected);
    ws.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(env.relayPort())));
    QVERIFY(connected.wait(5000));
    HttpResult r;
    QTRY_VERIFY_WITH_TIMEOUT(
        (r = env.call("GET", QStringLiteral("/status"))).json().value(QStringLiteral("connected_ws_clients")).toInt()
            == 1,
        5000);
    const QJsonObject o = r.json();
    VERIFY_KEYS(o, kStatus, u"execution_status"_qs, u"current_prompt_id"_qs, u"workflow_loaded"_qs,
                u"connected_ws_clients"_qs, u"comfy_server"_qs, u"save_image_node_id"_qs);
    QCOMPARE(o.value(kStatus).toString(), QStringLiteral("Server running"));
    QCOMPARE(o.value(QStringLiteral("execution_status")).toString(), QStringLiteral("idle"));
    QVERIFY(o.value(QStringLiteral("current_prompt_id")).isNull());
    QCOMPARE(o.value(QStringLiteral("workflow_loaded")).toBool(), true);
    QCOMPARE(o.value(QStringLiteral("comfy_server")).toString(),
             QStringLiteral("127.0.0.1:%1").arg(env.fake().httpUrl().port()));
    QCOMPARE(o.value(QStringLiteral("save_image_node_id")).toString(), QStringLiteral("9"));
}

void TstApiLegacy::statusFollowsRuns()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    auto status = [&env] { return env.call("GET", QStringLiteral("/status")).json(); };
    // Completed.
    const HttpResult done = env.call("GET", QStringLiteral("/queue"));
    QCOMPARE(done.status, 200);
    QJsonObject s = status();
    QCOMPARE(s.value(QStringLiteral("execution_status")).toString(), QStringLiteral("completed"));
    QCOMPARE(s.value(QStringLiteral("current_prompt_id")).toString(),
             done.json().value(QStringLiteral("prompt_id")).toString());
    // Error.
    QCOMPARE(env.call("POST", QStringLiteral("/update/text"), R"({"text": "fails"})").status, 200);
    env.fake().failNextPrompt(QStringLiteral("3"), QStringLiteral("boom"));
    QCOMPARE(env.call("GET", QStringLiteral("/queue")).status, 502);
    QCOMPARE(status().value(QStringLiteral("execution_status")).toString(), QStringLiteral("error"));
    // Running, then interrupted.
    env.fake().setSteps(500);
    env.fake().setStepIntervalMs(20);
    QCOMPARE(env.call("POST", QStringLiteral("/update/text"), R"({"text": "long"})").status, 200);
    QNetworkReply *waiting = env.send("GET", QStringLiteral("/queue"));
    QSignalSpy started(&env.jobs(), &JobManager::jobStarted);
    QVERIFY(started.wait(5000));
    const QString runningId = started.first().first().value<Job>().id;
    s = status();
    QCOMPARE(s.value(QStringLiteral("execution_status")).toString(), QStringLiteral("running"));
    QCOMPARE(s.value(QStringLiteral("current_prompt_id")).toString(), runningId);
    QCOMPARE(env.call("POST", QStringLiteral("/interrupt")).status, 200);
    QSignalSpy finished(waiting, &QNetworkReply::finished);
    QVERIFY(waiting->isFinished() || finished.wait(10000));
    delete waiting;
    s = status();
    QCOMPARE(s.value(QStringLiteral("execution_status")).toString(), QStringLiteral("interrupted"));
    QCOMPARE(s.value(QStringLiteral("current_prompt_id")).toString(), runningId);
}

void TstApiLegacy::queueSuccess()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    const HttpResult r = env.call("GET", QStringLiteral("/queue"));
    QCOMPARE(r.status, 200);
    const QJsonObject o = r.json();
    VERIFY_KEYS(o, kStatus, u"type"_qs, u"image_filename"_qs, u"image_url"_qs, u"prompt_id"_qs, u"images"_qs,
                u"job_id"_qs);
    QCOMPARE(o.value(kStatus).toString(), QStringLiteral("completed successfully"));
    QCOMPARE(o.value(QStringLiteral("type")).toString(), QStringLiteral("image_generated"));
    QVERIFY(o.value(QStringLiteral("image_filename")).toString().endsWith(QLatin1String(".png")));
    QCOMPARE(o.value(QStringLiteral("job_id")), o.value(QStringLiteral("prompt_id")));
    const HttpResult png = env.call("GET", QUrl(o.value(QStringLiteral("image_url")).toString()).path());
    QCOMPARE(png.status, 200);
    QVERIFY(png.body.startsWith("\x89PNG"));
}

void TstApiLegacy::queueNoImage()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    // The image goes out on the WebSocket only: the run succeeds without a file.
    QJsonObject graph = sd15(env);
    graph.insert(QStringLiteral("9"),
                 QJsonObject{{QStringLiteral("class_type"), QStringLiteral("SaveImageWebsocket")},
                             {QStringLiteral("inputs"),
                              QJsonObject{{QStringLiteral("images"), QJsonArray{QStringLiteral("8"), 0}}}}});
    QVERIFY(activate(env, QStringLiteral("ws_only"), graph));
    const HttpResult r = env.call("GET", QStringLiteral("/queue"));
    verifyLegacyError(r, 502, QStringLiteral("no_output"), QStringLiteral("completed but no image found"));
    VERIFY_KEYS(r.json(), u"prompt_id"_qs);
    QVERIFY(env.jobs().find(r.json().value(QStringLiteral("prompt_id")).toString()));
}

void TstApiLegacy::queueFailedRun()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    env.fake().failNextPrompt(QStringLiteral("3"), QStringLiteral("CUDA out of memory"));
    const HttpResult r = env.call("GET", QStringLiteral("/queue"));
    verifyLegacyError(r, 502, QStringLiteral("comfy_error"), QStringLiteral("generation failed - error"));
    QCOMPARE(r.json().value(QStringLiteral("execution_status")).toString(), QStringLiteral("error"));
    QVERIFY(r.json()[QStringLiteral("error")][QStringLiteral("message")].toString().contains(
        QLatin1String("CUDA out of memory")));
}

void TstApiLegacy::queueTimeout()
{
    ApiTestEnv env({}, [](Config &c) { c.http.waitTimeoutMs = 300; });
    QVERIFY(env.ok());
    env.fake().setSteps(500);
    env.fake().setStepIntervalMs(20);
    const HttpResult r = env.call("GET", QStringLiteral("/queue"));
    verifyLegacyError(r, 504, QStringLiteral("wait_timeout"),
                      QStringLiteral("workflow timeout - check /status for completion"));
    const QString id = r.json().value(QStringLiteral("current_prompt_id")).toString();
    QVERIFY(env.jobs().find(id));
    QVERIFY(!env.jobs().find(id)->isFinished());
    QCOMPARE(r.header("Location"), QStringLiteral("/api/v1/jobs/%1").arg(id).toUtf8());
    env.jobs().cancel(id);
}

void TstApiLegacy::nothingLoaded_data()
{
    QTest::addColumn<QByteArray>("verb");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QByteArray>("body");
    QTest::newRow("queue") << QByteArray("GET") << "/queue" << QByteArray();
    QTest::newRow("update text") << QByteArray("POST") << "/update/text" << QByteArray(R"({"text": "x"})");
    QTest::newRow("update prompt") << QByteArray("POST") << "/update/prompt"
                                   << QByteArray(R"({"node_id": "6", "text": "x"})");
    QTest::newRow("update image") << QByteArray("POST") << "/update/image" << QByteArray(R"({"image": "a.png"})");
}

void TstApiLegacy::nothingLoaded()
{
    QFETCH(QByteArray, verb);
    QFETCH(QString, path);
    QFETCH(QByteArray, body);
    ApiTestEnv env({}, [](Config &c) { c.comfy.workflow = QStringLiteral("not_there"); });
    QVERIFY(env.ok());
    verifyLegacyError(env.call(verb, path, body), 400, QStringLiteral("no_workflow"),
                      QStringLiteral("No workflow loaded"));
}

void TstApiLegacy::updateTextAndPrompt()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    for (const QString &path : {QStringLiteral("/update/text"), QStringLiteral("/update/prompt")}) {
        const HttpResult r = env.call("POST", path, R"({"node_id": 6, "text": "a fox"})");
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value(kStatus).toString(), QStringLiteral("Updated text in node 6 successfully"));
    }
    const HttpResult named = env.call("POST", QStringLiteral("/update/text"), R"({"text": "a castle"})");
    QCOMPARE(named.json().value(kStatus).toString(), QStringLiteral("Updated text in node 6 successfully"));
}

void TstApiLegacy::updateTextErrors_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("code");
    QTest::addColumn<QString>("sentence"); // exact STATUS, or "" for "says what is wrong"
    QTest::newRow("unknown node") << QByteArray(R"({"node_id": "999", "text": "x"})") << 404 << "unknown_node"
                                  << "Failed to update text in node 999";
    QTest::newRow("node without text") << QByteArray(R"({"node_id": "8", "text": "x"})") << 400 << "unknown_input"
                                       << "Failed to update text in node 8";
    QTest::newRow("malformed") << QByteArray("{nope") << 400 << "invalid_json"
                               << "";
    QTest::newRow("no text") << QByteArray(R"({"node_id": "6"})") << 400 << "missing_field"
                             << "";
    QTest::newRow("text not a string") << QByteArray(R"({"text": 5})") << 400 << "type_mismatch"
                                       << "";
    QTest::newRow("node_id an object") << QByteArray(R"({"node_id": {}, "text": "x"})") << 400 << "type_mismatch"
                                       << "";
}

void TstApiLegacy::updateTextErrors()
{
    QFETCH(QByteArray, body);
    QFETCH(int, status);
    QFETCH(QString, code);
    QFETCH(QString, sentence);
    ApiTestEnv env;
    QVERIFY(env.ok());
    const HttpResult r = env.call("POST", QStringLiteral("/update/text"), body);
    verifyLegacyError(r, status, code, sentence);
    if (sentence.isEmpty()) // says what is wrong: the same words as the error's message
        QCOMPARE(r.json().value(kStatus).toString(),
                 r.json()[QStringLiteral("error")][QStringLiteral("message")].toString());
}

void TstApiLegacy::updateImage()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    QVERIFY(activate(env, QStringLiteral("img"),
                     QJsonObject{{QStringLiteral("10"),
                                  QJsonObject{{QStringLiteral("class_type"), QStringLiteral("LoadImage")},
                                              {QStringLiteral("inputs"),
                                               QJsonObject{{QStringLiteral("image"), QStringLiteral("old.png")}}}}}}));
    HttpResult r = env.call("POST", QStringLiteral("/update/image"), R"({"node_id": "10", "image": "x.png"})");
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json().value(kStatus).toString(), QStringLiteral("Updated image in node 10 to x.png successfully"));
    r = env.call("POST", QStringLiteral("/update/image"), R"({"node_id": "999", "image": "x.png"})");
    verifyLegacyError(r, 404, QStringLiteral("unknown_node"), QStringLiteral("Failed to update image in node 999"));
    r = env.call("POST", QStringLiteral("/update/image"), R"({"node_id": "10"})");
    verifyLegacyError(r, 400, QStringLiteral("missing_field"));
    // The body and node_id checks /update/image shares with /update/text.
    verifyLegacyError(env.call("POST", QStringLiteral("/update/image"), "{nope"), 400, QStringLiteral("invalid_json"));
    verifyLegacyError(env.call("POST", QStringLiteral("/update/image"), R"({"node_id": [], "image": "x.png"})"), 400,
                      QStringLiteral("type_mismatch"));
}

void TstApiLegacy::interrupt()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    const HttpResult r = env.call("POST", QStringLiteral("/interrupt"));
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json().value(kStatus).toString(), QStringLiteral("Interrupt request received, processing..."));
    QCOMPARE(r.json().value(QStringLiteral("cancelled")).toInt(), 0);
}

// 401 without the token and 405 on a legacy path carry STATUS too; /api/v1 errors do not.
void TstApiLegacy::errorsOfEveryLegacyRouteCarryStatus()
{
    ApiTestEnv env(QStringLiteral("s3cret"));
    QVERIFY(env.ok());
    for (const QString &path : {u"/status"_qs, u"/queue"_qs})
        verifyLegacyError(env.call("GET", path), 401, QStringLiteral("unauthorized"));
    for (const QString &path :
         {u"/update/text"_qs, u"/update/prompt"_qs, u"/update/image"_qs, u"/generate/image"_qs, u"/interrupt"_qs})
        verifyLegacyError(env.call("POST", path, "{}"), 401, QStringLiteral("unauthorized"));
    verifyLegacyError(env.call("GET", QStringLiteral("/update/text"), {}, "application/json", "s3cret"), 405,
                      QStringLiteral("method_not_allowed"));
    const HttpResult v1 = env.call("GET", QStringLiteral("/api/v1/jobs"));
    QCOMPARE(v1.status, 401);
    QVERIFY(!v1.json().contains(kStatus));
}

// The socket guard refuses some requests before any route runs (oversized body, bad head, chunked body):
// on a legacy path those answers carry STATUS too, on /api/v1 they do not.
void TstApiLegacy::refusalsBelowTheRouterCarryStatus_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<int>("status");
    QTest::addColumn<bool>("legacy");
    const QByteArray big = "Content-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n";
    QTest::newRow("413 /update/text") << QByteArray("POST /update/text HTTP/1.1\r\nHost: x\r\n" + big) << 413 << true;
    QTest::newRow("413 /api/v1/jobs") << QByteArray("POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\n" + big) << 413 << false;
    QTest::newRow("505 /queue") << QByteArray("GET /queue HTTP/9.9\r\nHost: x\r\n\r\n") << 505 << true;
    QTest::newRow("400 /status?x two hosts")
        << QByteArray("GET /status?x=1 HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n") << 400 << true;
    QTest::newRow("411 /update/image") << QByteArray(
        "POST /update/image HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
                                       << 411 << true;
}

void TstApiLegacy::refusalsBelowTheRouterCarryStatus()
{
    QFETCH(QByteArray, request);
    QFETCH(int, status);
    QFETCH(bool, legacy);
    ApiTestEnv env;
    QVERIFY(env.ok());
    RawClient client(env.port());
    QVERIFY(client.waitConnected());
    client.socket.write(request);
    QVERIFY(client.waitClosed());
    QCOMPARE(client.statuses(), QList<int>{status});
    const QByteArray body = client.received.mid(client.received.indexOf("\r\n\r\n") + 4);
    const QJsonObject o = QJsonDocument::fromJson(body).object();
    QVERIFY2(o.contains(QStringLiteral("error")), body.constData());
    QCOMPARE(o.contains(kStatus), legacy);
    if (legacy)
        QCOMPARE(o.value(kStatus).toString(), o[QStringLiteral("error")][QStringLiteral("message")].toString());
}

void TstApiLegacy::relayImageGeneratedIsFlat()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    QWebSocket ws;
    QList<QByteArray> texts;
    connect(&ws, &QWebSocket::textMessageReceived, &ws, [&texts](const QString &t) { texts.append(t.toUtf8()); });
    QSignalSpy connected(&ws, &QWebSocket::connected);
    ws.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(env.relayPort())));
    QVERIFY(connected.wait(5000));
    QTRY_COMPARE_WITH_TIMEOUT(
        env.call("GET", QStringLiteral("/status")).json().value(QStringLiteral("connected_ws_clients")).toInt(), 1,
        5000);
    const HttpResult r = env.call("GET", QStringLiteral("/queue"));
    QCOMPARE(r.status, 200);
    const QString id = r.json().value(QStringLiteral("prompt_id")).toString();
    auto imageGenerated = [&texts]() -> QJsonObject {
        for (const QByteArray &t : texts) {
            const QJsonObject o = QJsonDocument::fromJson(t).object();
            if (o.value(QStringLiteral("type")).toString() == u"image_generated")
                return o;
        }
        return {};
    };
    QTRY_VERIFY_WITH_TIMEOUT(!imageGenerated().isEmpty(), 5000);
    const QJsonObject o = imageGenerated();
    VERIFY_KEYS(o, kStatus, u"type"_qs, u"image_filename"_qs, u"image_url"_qs, u"prompt_id"_qs, u"job_id"_qs);
    QVERIFY(!o.contains(QStringLiteral("data")));
    QCOMPARE(o.value(kStatus).toString(), QStringLiteral("Workflow completed successfully"));
    QCOMPARE(o.value(QStringLiteral("prompt_id")).toString(), id);
    QCOMPARE(o.value(QStringLiteral("image_filename")), r.json().value(QStringLiteral("image_filename")));
    QCOMPARE(env.call("GET", QUrl(o.value(QStringLiteral("image_url")).toString()).path()).status, 200);
}

void TstApiLegacy::subgraphNodeIds()
{
    ApiTestEnv env(
        {}, [](Config &c) { c.nodeMappings.global.insert(QStringLiteral("prompt"), QStringLiteral("194:45.text")); });
    QVERIFY(env.ok());
    QVERIFY(activate(env, QStringLiteral("subgraph"), subgraphIds(sd15(env))));
    auto sentText = [&env] {
        return env.fake()
            .lastPromptBody()[QStringLiteral("prompt")][QStringLiteral("194:45")][QStringLiteral("inputs")]
                             [QStringLiteral("text")]
            .toString();
    };
    // Legacy edit by string id, then the legacy run.
    HttpResult r = env.call("POST", QStringLiteral("/update/text"), R"({"node_id": "194:45", "text": "a heron"})");
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json().value(kStatus).toString(), QStringLiteral("Updated text in node 194:45 successfully"));
    QCOMPARE(env.call("GET", QStringLiteral("/status")).json().value(QStringLiteral("save_image_node_id")).toString(),
             QStringLiteral("194:9"));
    r = env.call("GET", QStringLiteral("/queue"));
    QCOMPARE(r.status, 200);
    QCOMPARE(sentText(), QStringLiteral("a heron"));
    // The named parameter maps to "194:45.text".
    QCOMPARE(env.call("POST", QStringLiteral("/update/text"), R"({"text": "a crane"})")
                 .json()
                 .value(QStringLiteral("node_id"))
                 .toString(),
             QStringLiteral("194:45"));
    // /api/v1: the draft and jobs by "node.input", by node object and by parameter name.
    QCOMPARE(env.call("PATCH", QStringLiteral("/api/v1/draft"), R"({"inputs": {"194:3.seed": 7}})").status, 200);
    QCOMPARE(env.draft().draft()[QStringLiteral("194:3")][QStringLiteral("inputs")][QStringLiteral("seed")].toInt(), 7);
    for (const QByteArray &inputs :
         {QByteArray(R"({"194:45.text": "an owl"})"), QByteArray(R"({"194:45": {"text": "an owl"}})"),
          QByteArray(R"({"prompt": "an owl"})")}) {
        r = env.call("POST", QStringLiteral("/api/v1/jobs"),
                     R"({"workflow": "subgraph", "wait": true, "inputs": )" + inputs + "}");
        QVERIFY2(r.status == 200, r.body.constData());
        QCOMPARE(r.json().value(QStringLiteral("state")).toString(), QStringLiteral("succeeded"));
        QCOMPARE(sentText(), QStringLiteral("an owl"));
    }
    // An unknown string id is a clean 404 on both API generations.
    verifyLegacyError(env.call("POST", QStringLiteral("/update/text"), R"({"node_id": "194:999", "text": "x"})"), 404,
                      QStringLiteral("unknown_node"), QStringLiteral("Failed to update text in node 194:999"));
}

QTEST_GUILESS_MAIN(TstApiLegacy)
#include "tst_apilegacy.moc"
