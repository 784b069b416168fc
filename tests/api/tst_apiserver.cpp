// ApiServer routing, auth, errors, system/workflow/draft routes and the legacy edit routes, over real HTTP
// against the fake ComfyUI (port 0).

#include "tests/api/apitestenv.h"

#include "core/api/routetable.h"
#include "tests/support/authcases.h"

#include <QJsonArray>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QTcpServer>
#include <QTcpSocket>
#include <QtTest>

using namespace cr;
using namespace cr::testing;

class TstApiServer : public QObject
{
    Q_OBJECT

private slots:
    void health();
    void unknownPathIsJson404();
    void routeMissingInConfigurationIs404();
    void wrongMethodIs405WithAllow_data();
    void wrongMethodIs405WithAllow();
    void headServesGetWithoutBody();
    void authRequired_data();
    void authRequired();
    void authRule_data();
    void authRule();
    void readyAndSystem();
    void status();
    void openApiServed();
    void workflows();
    void workflowUnknownAndBroken_data();
    void workflowUnknownAndBroken();
    void draftPatchResetSwitch();
    void draftPatchErrors_data();
    void draftPatchErrors();
    void legacyUpdateText();
    void legacyUpdateErrors_data();
    void legacyUpdateErrors();
    void legacyUpdateImage();
    void generateImageForwards();
    void generateImageUnreachable();
};

void TstApiServer::health()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    for (const QString &path : {QStringLiteral("/health"), QStringLiteral("/api/v1/health")}) {
        const HttpResult r = env.call("GET", path);
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value(QStringLiteral("status")).toString(), QStringLiteral("ok"));
        QCOMPARE(r.header("Content-Type"), QByteArray("application/json"));
    }
}

void TstApiServer::unknownPathIsJson404()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    const HttpResult r = env.call("GET", QStringLiteral("/nope/at/all"));
    QCOMPARE(r.status, 404);
    QCOMPARE(r.errorCode(), QStringLiteral("not_found"));
    QVERIFY(!r.json().value(QStringLiteral("error")).toObject().value(QStringLiteral("message")).toString().isEmpty());
}

// An ApiServer without a JobManager, event hub or workflow store lacks those routes for good: 404, not 503.
void TstApiServer::routeMissingInConfigurationIs404()
{
    ApiContext ctx;
    ctx.config.http.host = QStringLiteral("127.0.0.1");
    ctx.config.http.port = 0;
    ApiServer server(ctx);
    QString error;
    QVERIFY2(server.listen(&error), qPrintable(error));
    QNetworkAccessManager nam;
    const auto url = [&server](const char *path) {
        return QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(server.port()).arg(QLatin1String(path)));
    };
    QNetworkRequest post(url("/api/v1/jobs"));
    post.setHeader(QNetworkRequest::ContentTypeHeader, QByteArray("application/json"));
    const QList<QNetworkReply *> replies
        = {nam.post(post, QByteArray(R"({"workflow": "sd15"})")), nam.get(QNetworkRequest(url("/api/v1/jobs/x"))),
           nam.get(QNetworkRequest(url("/api/v1/events"))), nam.get(QNetworkRequest(url("/api/v1/workflows"))),
           nam.get(QNetworkRequest(url("/api/v1/draft")))};
    for (QNetworkReply *reply : replies) {
        QTRY_VERIFY_WITH_TIMEOUT(reply->isFinished(), 5000);
        const HttpResult r = ApiTestEnv::collect(reply);
        QVERIFY2(r.status == 404, qPrintable(reply->url().path() + QStringLiteral(": ") + QString::fromUtf8(r.body)));
        QCOMPARE(r.errorCode(), QStringLiteral("not_found"));
    }
}

void TstApiServer::wrongMethodIs405WithAllow_data()
{
    QTest::addColumn<QByteArray>("verb");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("allow");
    QTest::newRow("DELETE health") << QByteArray("DELETE") << "/api/v1/health"
                                   << "GET, HEAD";
    QTest::newRow("GET interrupt") << QByteArray("GET") << "/interrupt"
                                   << "POST";
    QTest::newRow("PUT jobs") << QByteArray("PUT") << "/api/v1/jobs"
                              << "POST, GET, HEAD";
    QTest::newRow("POST draft") << QByteArray("POST") << "/api/v1/draft"
                                << "GET, HEAD, PATCH";
    QTest::newRow("HEAD queue") << QByteArray("HEAD") << "/queue"
                                << "GET";
}

void TstApiServer::wrongMethodIs405WithAllow()
{
    QFETCH(QByteArray, verb);
    QFETCH(QString, path);
    QFETCH(QString, allow);
    ApiTestEnv env;
    QVERIFY(env.ok());
    const HttpResult r = env.call(verb, path);
    QCOMPARE(r.status, 405);
    QCOMPARE(QString::fromLatin1(r.header("Allow")), allow);
    if (verb != "HEAD")
        QCOMPARE(r.errorCode(), QStringLiteral("method_not_allowed"));
    QCOMPARE(env.fake().promptCount(), 0);
}

void TstApiServer::headServesGetWithoutBody()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    const HttpResult get = env.call("GET", QStringLiteral("/api/v1/workflows"));
    const HttpResult head = env.call("HEAD", QStringLiteral("/api/v1/workflows"));
    QCOMPARE(head.status, 200);
    QVERIFY(head.body.isEmpty());
    QCOMPARE(head.header("Content-Length").toLongLong(), get.body.size());
}

void TstApiServer::authRequired_data()
{
    QTest::addColumn<QByteArray>("verb");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QByteArray>("token");
    QTest::addColumn<int>("status");
    QTest::newRow("health public") << QByteArray("GET") << "/health" << QByteArray() << 200;
    QTest::newRow("v1 health public") << QByteArray("GET") << "/api/v1/health" << QByteArray() << 200;
    QTest::newRow("status no token") << QByteArray("GET") << "/status" << QByteArray() << 401;
    QTest::newRow("jobs wrong token") << QByteArray("GET") << "/api/v1/jobs" << QByteArray("s3cret!") << 401;
    QTest::newRow("jobs prefix of token") << QByteArray("GET") << "/api/v1/jobs" << QByteArray("s3cre") << 401;
    QTest::newRow("jobs good token") << QByteArray("GET") << "/api/v1/jobs" << QByteArray("s3cret") << 200;
    QTest::newRow("unknown path no token") << QByteArray("GET") << "/secret/path" << QByteArray() << 401;
    QTest::newRow("unknown path token") << QByteArray("GET") << "/secret/path" << QByteArray("s3cret") << 404;
    QTest::newRow("queue no token") << QByteArray("GET") << "/queue" << QByteArray() << 401;
    QTest::newRow("interrupt no token") << QByteArray("POST") << "/interrupt" << QByteArray() << 401;
}

void TstApiServer::authRequired()
{
    QFETCH(QByteArray, verb);
    QFETCH(QString, path);
    QFETCH(QByteArray, token);
    QFETCH(int, status);
    ApiTestEnv env(QStringLiteral("s3cret"));
    QVERIFY(env.ok());
    const HttpResult r = env.call(verb, path, {}, "application/json", token);
    QCOMPARE(r.status, status);
    if (status == 401) {
        QCOMPARE(r.errorCode(), QStringLiteral("unauthorized"));
        QVERIFY(!r.body.contains("s3cret"));
        QCOMPARE(r.header("WWW-Authenticate"), QByteArray("Bearer"));
    }
    QCOMPARE(env.fake().promptCount(), 0);
}

void TstApiServer::authRule_data()
{
    addAuthRows(); // the shared table of core/common/auth.h's rule; plain routes ignore ?token=
}

// Every combination of header and ?token= on a plain route and a legacy route.
void TstApiServer::authRule()
{
    QFETCH(QString, query);
    QFETCH(QByteArray, header);
    QFETCH(bool, withoutQuery);
    ApiTestEnv env(kAuthToken);
    QVERIFY(env.ok());
    QNetworkAccessManager nam;
    for (const QString &path : {QStringLiteral("/api/v1/jobs"), QStringLiteral("/status")}) {
        QNetworkRequest request(env.url(query.isEmpty() ? path : path + QLatin1Char('?') + query));
        if (!header.isEmpty())
            request.setRawHeader("Authorization", header);
        QNetworkReply *reply = nam.get(request);
        QSignalSpy done(reply, &QNetworkReply::finished);
        QVERIFY(reply->isFinished() || done.wait(10000));
        const HttpResult r = ApiTestEnv::collect(reply);
        reply->deleteLater();
        QCOMPARE(r.status, withoutQuery ? 200 : 401);
        if (!withoutQuery)
            QCOMPARE(r.errorCode(), QStringLiteral("unauthorized"));
    }
}

void TstApiServer::readyAndSystem()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    HttpResult r = env.call("GET", QStringLiteral("/api/v1/ready"));
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json().value(QStringLiteral("ready")).toBool(), true);

    r = env.call("GET", QStringLiteral("/api/v1/system"));
    QCOMPARE(r.status, 200);
    const QJsonObject comfy = r.json().value(QStringLiteral("comfyui")).toObject();
    QCOMPARE(comfy.value(QStringLiteral("state")).toString(), QStringLiteral("connected"));
    QVERIFY(comfy.value(QStringLiteral("system_stats")).toObject().contains(QStringLiteral("system")));
    const QJsonObject service = r.json().value(QStringLiteral("service")).toObject();
    QCOMPARE(service.value(QStringLiteral("active_workflow")).toString(), QStringLiteral("sd15"));
    QCOMPARE(service.value(QStringLiteral("jobs_active")).toInt(), 0);
    QVERIFY(service.value(QStringLiteral("relay_port")).toInt() > 0); // clients discover the relay here

    // ComfyUI goes away: not ready (503 with reasons), /system still answers with the error.
    env.fake().setRefuseConnections(true);
    env.fake().dropWebSockets();
    QTRY_VERIFY_WITH_TIMEOUT(env.call("GET", QStringLiteral("/api/v1/ready")).status == 503, 5000);
    r = env.call("GET", QStringLiteral("/api/v1/ready"));
    QCOMPARE(r.errorCode(), QStringLiteral("not_ready"));
    QVERIFY(
        !r.json()[QStringLiteral("error")][QStringLiteral("details")][QStringLiteral("reasons")].toArray().isEmpty());
    r = env.call("GET", QStringLiteral("/api/v1/system"));
    QCOMPARE(r.status, 200);
    QVERIFY(r.json()[QStringLiteral("comfyui")][QStringLiteral("state")].toString() != QLatin1String("connected"));
}

void TstApiServer::status()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    const HttpResult r = env.call("GET", QStringLiteral("/status"));
    QCOMPARE(r.status, 200);
    const QJsonObject o = r.json();
    QCOMPARE(o.value(QStringLiteral("status")).toString(), QStringLiteral("ok"));
    QCOMPARE(o.value(QStringLiteral("comfyui")).toString(), QStringLiteral("connected"));
    QCOMPARE(o.value(QStringLiteral("workflow")).toString(), QStringLiteral("sd15"));
    QCOMPARE(o.value(QStringLiteral("queue")).toInt(), 0);
}

void TstApiServer::openApiServed()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    const HttpResult r = env.call("GET", QStringLiteral("/api/v1/openapi.json"));
    QCOMPARE(r.status, 200);
    const QJsonObject paths = r.json().value(QStringLiteral("paths")).toObject();
    QCOMPARE(r.json().value(QStringLiteral("openapi")).toString(), QStringLiteral("3.1.0"));
    // Same set of (method, path) as the route table.
    QSet<QString> documented, routed;
    for (auto it = paths.begin(); it != paths.end(); ++it)
        for (const QString &m : it.value().toObject().keys())
            documented.insert(m.toUpper() + QLatin1Char(' ') + it.key());
    for (const RouteSpec &s : routeTable())
        routed.insert(QLatin1String(s.method) + QLatin1Char(' ') + QLatin1String(s.path));
    QCOMPARE(documented, routed);
    // Public routes have an empty security list, the others inherit the bearer requirement.
    for (const RouteSpec &s : routeTable()) {
        const QJsonObject op
            = paths.value(QLatin1String(s.path)).toObject().value(QString::fromLatin1(s.method).toLower()).toObject();
        QCOMPARE(op.contains(QStringLiteral("security")) && op.value(QStringLiteral("security")).toArray().isEmpty(),
                 s.public_);
    }
}

void TstApiServer::workflows()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    HttpResult r = env.call("GET", QStringLiteral("/api/v1/workflows"));
    QCOMPARE(r.status, 200);
    const QJsonArray list = r.json().value(QStringLiteral("workflows")).toArray();
    QCOMPARE(list.size(), 1);
    QCOMPARE(list.at(0)[QStringLiteral("name")].toString(), QStringLiteral("sd15"));
    QCOMPARE(list.at(0)[QStringLiteral("active")].toBool(), true);
    const QJsonArray errors = r.json().value(QStringLiteral("errors")).toArray();
    QCOMPARE(errors.size(), 1);
    QCOMPARE(errors.at(0)[QStringLiteral("name")].toString(), QStringLiteral("broken"));

    r = env.call("GET", QStringLiteral("/api/v1/workflows/sd15"));
    QCOMPARE(r.status, 200);
    QVERIFY(r.json()[QStringLiteral("graph")].toObject().contains(QStringLiteral("3")));
    bool foundPrompt = false;
    for (const QJsonValue p : r.json()[QStringLiteral("parameters")].toArray()) {
        if (p[QStringLiteral("name")].toString() == QLatin1String("prompt")) {
            foundPrompt = true;
            QCOMPARE(p[QStringLiteral("node")].toString(), QStringLiteral("6"));
            QCOMPARE(p[QStringLiteral("type")].toString(), QStringLiteral("string"));
        }
    }
    QVERIFY(foundPrompt);
    bool cfgIsFloat = false;
    for (const QJsonValue n : r.json()[QStringLiteral("nodes")].toArray())
        for (const QJsonValue i : n[QStringLiteral("inputs")].toArray())
            if (n[QStringLiteral("id")].toString() == QLatin1String("3")
                && i[QStringLiteral("name")].toString() == QLatin1String("cfg"))
                cfgIsFloat = i[QStringLiteral("type")].toString() == QLatin1String("float");
    QVERIFY(cfgIsFloat);
}

void TstApiServer::workflowUnknownAndBroken_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("code");
    QTest::addColumn<bool>("loadError");
    QTest::newRow("unknown") << "/api/v1/workflows/nope" << 404 << "unknown_workflow" << false;
    QTest::newRow("broken") << "/api/v1/workflows/broken" << 404 << "unknown_workflow" << true;
    QTest::newRow("traversal") << "/api/v1/workflows/..%2F..%2Fetc%2Fpasswd" << 404 << "not_found" << false;
    QTest::newRow("encoded dot") << "/api/v1/workflows/%2E%2E" << 404 << "not_found" << false;
    QTest::newRow("dot file") << "/api/v1/workflows/.hidden" << 404 << "unknown_workflow" << false;
    QTest::newRow("nul") << "/api/v1/workflows/a%00b" << 404 << "unknown_workflow" << false;
}

void TstApiServer::workflowUnknownAndBroken()
{
    QFETCH(QString, path);
    QFETCH(int, status);
    QFETCH(QString, code);
    QFETCH(bool, loadError);
    ApiTestEnv env;
    QVERIFY(env.ok());
    QNetworkRequest req(
        QUrl::fromEncoded(QStringLiteral("http://127.0.0.1:%1%2").arg(env.port()).arg(path).toLatin1()));
    QNetworkAccessManager nam;
    QNetworkReply *reply = nam.get(req);
    QSignalSpy done(reply, &QNetworkReply::finished);
    QVERIFY(done.wait(5000));
    const HttpResult r = ApiTestEnv::collect(reply);
    delete reply;
    QCOMPARE(r.status, status);
    QCOMPARE(r.errorCode(), code);
    QCOMPARE(
        r.json()[QStringLiteral("error")][QStringLiteral("details")].toObject().contains(QStringLiteral("load_error")),
        loadError);
}

void TstApiServer::draftPatchResetSwitch()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    HttpResult r
        = env.call("PATCH", QStringLiteral("/api/v1/draft"), R"({"inputs": {"prompt": "a red fox", "3.seed": 42}})");
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json()[QStringLiteral("changes")].toArray().size(), 2);
    QVERIFY(r.json()[QStringLiteral("draft")][QStringLiteral("modified")].toBool());
    QCOMPARE(env.draft().draft()[QStringLiteral("6")][QStringLiteral("inputs")][QStringLiteral("text")].toString(),
             QStringLiteral("a red fox"));
    QCOMPARE(env.draft().draft()[QStringLiteral("3")][QStringLiteral("inputs")][QStringLiteral("seed")].toInteger(),
             42);

    r = env.call("GET", QStringLiteral("/api/v1/draft"));
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json()[QStringLiteral("graph")][QStringLiteral("6")][QStringLiteral("inputs")][QStringLiteral("text")]
                 .toString(),
             QStringLiteral("a red fox"));

    r = env.call("POST", QStringLiteral("/api/v1/draft/reset"));
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json()[QStringLiteral("modified")].toBool(), false);
    QVERIFY(
        env.draft().draft()[QStringLiteral("6")][QStringLiteral("inputs")][QStringLiteral("text")].toString().contains(
            QStringLiteral("lighthouse")));

    r = env.call("PUT", QStringLiteral("/api/v1/draft/workflow"), R"({"name": "nope"})");
    QCOMPARE(r.status, 404);
    QCOMPARE(r.errorCode(), QStringLiteral("unknown_workflow"));
    r = env.call("PUT", QStringLiteral("/api/v1/draft/workflow"), R"({"name": "sd15.json"})");
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json()[QStringLiteral("workflow")].toString(), QStringLiteral("sd15"));
}

void TstApiServer::draftPatchErrors_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("code");
    QTest::newRow("malformed") << QByteArray("{\"inputs\": ") << 400 << "invalid_json";
    QTest::newRow("empty") << QByteArray() << 400 << "invalid_json";
    QTest::newRow("array") << QByteArray("[1]") << 400 << "invalid_request";
    QTest::newRow("no inputs") << QByteArray("{}") << 400 << "missing_field";
    QTest::newRow("inputs wrong type") << QByteArray(R"({"inputs": 5})") << 400 << "type_mismatch";
    QTest::newRow("seed as text") << QByteArray(R"({"inputs": {"3.seed": "x"}})") << 400 << "type_mismatch";
    QTest::newRow("unknown parameter") << QByteArray(R"({"inputs": {"99.seed": 1}})") << 400 << "unknown_parameter";
    QTest::newRow("unknown node") << QByteArray(R"({"inputs": {"99": {"seed": 1}}})") << 404 << "unknown_node";
    QTest::newRow("unknown input") << QByteArray(R"({"inputs": {"3.nope": 1}})") << 400 << "unknown_input";
    QTest::newRow("linked") << QByteArray(R"({"inputs": {"3.model": 1}})") << 400 << "linked_input";
}

void TstApiServer::draftPatchErrors()
{
    QFETCH(QByteArray, body);
    QFETCH(int, status);
    QFETCH(QString, code);
    ApiTestEnv env;
    QVERIFY(env.ok());
    const QJsonObject before = env.draft().draft();
    const HttpResult r = env.call("PATCH", QStringLiteral("/api/v1/draft"), body);
    QCOMPARE(r.status, status);
    QCOMPARE(r.errorCode(), code);
    QCOMPARE(env.draft().draft(), before);
}

void TstApiServer::legacyUpdateText()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    HttpResult r = env.call("POST", QStringLiteral("/update/text"), R"({"node_id": 7, "text": "ugly"})");
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json()[QStringLiteral("node_id")].toString(), QStringLiteral("7"));
    QCOMPARE(env.draft().draft()[QStringLiteral("7")][QStringLiteral("inputs")][QStringLiteral("text")].toString(),
             QStringLiteral("ugly"));
    // No node_id: the mapped `prompt` parameter (node 6).
    r = env.call("POST", QStringLiteral("/update/prompt"), R"({"text": "a castle"})");
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json()[QStringLiteral("node_id")].toString(), QStringLiteral("6"));
    QCOMPARE(r.json()[QStringLiteral("input")].toString(), QStringLiteral("text"));
    QCOMPARE(env.draft().draft()[QStringLiteral("6")][QStringLiteral("inputs")][QStringLiteral("text")].toString(),
             QStringLiteral("a castle"));
}

void TstApiServer::legacyUpdateErrors_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("code");
    QTest::newRow("text malformed") << "/update/text" << QByteArray("{nope") << 400 << "invalid_json";
    QTest::newRow("text missing") << "/update/text" << QByteArray(R"({"node_id": "6"})") << 400 << "missing_field";
    QTest::newRow("text wrong type") << "/update/text" << QByteArray(R"({"text": 5})") << 400 << "type_mismatch";
    QTest::newRow("node wrong type") << "/update/text" << QByteArray(R"({"node_id": [1], "text": "x"})") << 400
                                     << "type_mismatch";
    QTest::newRow("unknown node") << "/update/text" << QByteArray(R"({"node_id": "99", "text": "x"})") << 404
                                  << "unknown_node";
    QTest::newRow("no text input") << "/update/text" << QByteArray(R"({"node_id": "8", "text": "x"})") << 400
                                   << "unknown_input";
    QTest::newRow("image missing") << "/update/image" << QByteArray(R"({"node_id": "6"})") << 400 << "missing_field";
    QTest::newRow("image wrong node") << "/update/image" << QByteArray(R"({"node_id": "6", "image": "a.png"})") << 400
                                      << "unknown_input";
}

void TstApiServer::legacyUpdateErrors()
{
    QFETCH(QString, path);
    QFETCH(QByteArray, body);
    QFETCH(int, status);
    QFETCH(QString, code);
    ApiTestEnv env;
    QVERIFY(env.ok());
    const QJsonObject before = env.draft().draft();
    const HttpResult r = env.call("POST", path, body);
    QCOMPARE(r.status, status);
    QCOMPARE(r.errorCode(), code);
    QCOMPARE(env.draft().draft(), before);
}

void TstApiServer::legacyUpdateImage()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    // sd15 has no LoadImage; add one to a workflow and switch to it.
    QFile f(env.workflowsDir() + QStringLiteral("/img.json"));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(R"({"10": {"class_type": "LoadImage", "inputs": {"image": "old.png"}, "_meta": {"title": "Image"}}})");
    f.close();
    QTRY_VERIFY_WITH_TIMEOUT(
        env.call("PUT", QStringLiteral("/api/v1/draft/workflow"), R"({"name": "img"})").status == 200, 5000);
    HttpResult r = env.call("POST", QStringLiteral("/update/image"), R"({"node_id": "10", "filename": "new.png"})");
    QCOMPARE(r.status, 200);
    QCOMPARE(env.draft().draft()[QStringLiteral("10")][QStringLiteral("inputs")][QStringLiteral("image")].toString(),
             QStringLiteral("new.png"));
    r = env.call("POST", QStringLiteral("/update/image"), R"({"image": "third.png"})");
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json()[QStringLiteral("node_id")].toString(), QStringLiteral("10"));
    QCOMPARE(env.draft().draft()[QStringLiteral("10")][QStringLiteral("inputs")][QStringLiteral("image")].toString(),
             QStringLiteral("third.png"));
}

void TstApiServer::generateImageForwards()
{
    // Node-RED stand-in: the fake ComfyUI's /prompt, which answers 400 with its own JSON to an empty prompt.
    QUrl target;
    ApiTestEnv env({}, [&target](Config &c) {
        target = c.comfy.url;
        target.setPath(QStringLiteral("/prompt"));
        c.http.nodeRedUrl = target;
    });
    QVERIFY(env.ok());
    const HttpResult r = env.call("POST", QStringLiteral("/generate/image"), R"({"prompt": {}})");
    QCOMPARE(r.status, 400);
    QVERIFY(r.json().contains(QStringLiteral("error")));
    QVERIFY(r.errorCode().isEmpty()); // ComfyUI's own body, not ours
    QVERIFY(env.fake().requestLog().contains(QStringLiteral("POST /prompt")));
}

void TstApiServer::generateImageUnreachable()
{
    // A port that refuses connections for the whole test: bound (so no other socket, not even this test's
    // own server, gets it) but not listening.
    QTcpSocket holder;
    QVERIFY(holder.bind(QHostAddress::LocalHost, 0, QAbstractSocket::DontShareAddress));
    const quint16 closedPort = holder.localPort();
    ApiTestEnv env({}, [closedPort](Config &c) {
        c.http.nodeRedUrl = QUrl(QStringLiteral("http://127.0.0.1:%1/generate").arg(closedPort));
    });
    QVERIFY(env.ok());
    const HttpResult r = env.call("POST", QStringLiteral("/generate/image"), R"({"x": 1})");
    QCOMPARE(r.status, 502);
    QCOMPARE(r.errorCode(), QStringLiteral("upstream_unreachable"));
}

QTEST_GUILESS_MAIN(TstApiServer)
#include "tst_apiserver.moc"
