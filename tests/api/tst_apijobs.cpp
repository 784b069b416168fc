// Jobs over HTTP: create (202, wait, client_ref), list/filter/pagination, get, cancel, streamed outputs,
// ComfyUI validation errors carried through intact, 10 concurrent waiting clients, a waiting client that
// leaves (the job still completes), wait timeout, the legacy /queue and /interrupt, uploads.

#include "tests/api/apitestenv.h"
#include "tests/api/rawclient.h"

#include <QHttpMultiPart>
#include <QJsonArray>
#include <QTcpSocket>
#include <QtTest>

using namespace cr;
using namespace cr::testing;
using namespace Qt::StringLiterals;

namespace {
const QByteArray kRun = R"({"workflow": "sd15", "inputs": {"prompt": "a fox"}})";
}

class TstApiJobs : public QObject
{
    Q_OBJECT

private slots:
    void createThenPoll();
    void createWaiting();
    void clientRefIsIdempotent();
    void createErrors_data();
    void createErrors();
    void comfyValidationIsCarriedThrough();
    void graphJob();
    void listFiltersAndPages();
    void listBadParams_data();
    void listBadParams();
    void cancelAndConflict();
    void unknownJob_data();
    void unknownJob();
    void outputStreamsTheFile();
    void outputIndexMustBeCanonical_data();
    void outputIndexMustBeCanonical();
    void tenConcurrentWaiters();
    void waiterLeavesJobCompletes();
    void waitTimeout();
    void serverGoneBeforeComfyAnswers();
    void legacyQueue();
    void legacyInterrupt();
    void upload();
    void uploadErrors();
    void uploadBadNames_data();
    void uploadBadNames();
};

void TstApiJobs::createThenPoll()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    HttpResult r = env.call("POST", QStringLiteral("/api/v1/jobs"), kRun);
    QCOMPARE(r.status, 202);
    const QString id = r.json()[QStringLiteral("id")].toString();
    QVERIFY(!id.isEmpty());
    QCOMPARE(r.header("Location"), QStringLiteral("/api/v1/jobs/%1").arg(id).toUtf8());
    QCOMPARE(r.json()[QStringLiteral("workflow")].toString(), QStringLiteral("sd15"));
    QVERIFY(QDateTime::fromString(r.json()[QStringLiteral("created_at")].toString(), Qt::ISODateWithMs).isValid());
    QCOMPARE(env.fake()
                 .lastPromptBody()[QStringLiteral("prompt")][QStringLiteral("6")][QStringLiteral("inputs")]
                                  [QStringLiteral("text")]
                 .toString(),
             QStringLiteral("a fox"));
    // The draft is not touched by a job's inputs.
    QVERIFY(
        env.draft().draft()[QStringLiteral("6")][QStringLiteral("inputs")][QStringLiteral("text")].toString().contains(
            QStringLiteral("lighthouse")));
    QTRY_COMPARE_WITH_TIMEOUT(
        env.call("GET", QStringLiteral("/api/v1/jobs/") + id).json()[QStringLiteral("state")].toString(),
        QStringLiteral("succeeded"), 10000);
    r = env.call("GET", QStringLiteral("/api/v1/jobs/") + id);
    const QJsonArray outputs = r.json()[QStringLiteral("outputs")].toArray();
    QCOMPARE(outputs.size(), 1);
    QCOMPARE(outputs.at(0)[QStringLiteral("url")].toString(), QStringLiteral("/api/v1/jobs/%1/outputs/0").arg(id));
    QCOMPARE(outputs.at(0)[QStringLiteral("node_id")].toString(), QStringLiteral("9"));
    QVERIFY(r.json()[QStringLiteral("duration_ms")].toInteger() >= 0);
    QVERIFY(r.json()[QStringLiteral("error")].isNull());
}

void TstApiJobs::createWaiting()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    const HttpResult r = env.call("POST", QStringLiteral("/api/v1/jobs"), R"({"workflow": "sd15", "wait": true})");
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json()[QStringLiteral("state")].toString(), QStringLiteral("succeeded"));
    QCOMPARE(r.json()[QStringLiteral("outputs")].toArray().size(), 1);
    QVERIFY(!r.json()[QStringLiteral("finished_at")].toString().isEmpty());
}

void TstApiJobs::clientRefIsIdempotent()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    const QByteArray body = R"({"workflow": "sd15", "client_ref": "order-17"})";
    const HttpResult a = env.call("POST", QStringLiteral("/api/v1/jobs"), body);
    QCOMPARE(a.status, 202);
    const HttpResult b = env.call("POST", QStringLiteral("/api/v1/jobs"), body);
    QCOMPARE(b.status, 200);
    QCOMPARE(b.json()[QStringLiteral("id")], a.json()[QStringLiteral("id")]);
    QCOMPARE(b.json()[QStringLiteral("client_ref")].toString(), QStringLiteral("order-17"));
    QCOMPARE(env.fake().promptCount(), 1);
}

void TstApiJobs::createErrors_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("code");
    QTest::newRow("malformed") << QByteArray("{\"workflow\": ") << 400 << "invalid_json";
    QTest::newRow("not object") << QByteArray("[\"sd15\"]") << 400 << "invalid_request";
    QTest::newRow("neither") << QByteArray("{}") << 400 << "invalid_request";
    QTest::newRow("both") << QByteArray(R"({"workflow": "sd15", "graph": {}})") << 400 << "invalid_request";
    QTest::newRow("workflow not string") << QByteArray(R"({"workflow": 5})") << 400 << "type_mismatch";
    QTest::newRow("unknown workflow") << QByteArray(R"({"workflow": "nope"})") << 404 << "unknown_workflow";
    QTest::newRow("hostile workflow") << QByteArray(R"({"workflow": "../../etc/passwd"})") << 404 << "unknown_workflow";
    QTest::newRow("broken workflow") << QByteArray(R"({"workflow": "broken"})") << 404 << "unknown_workflow";
    QTest::newRow("inputs not object") << QByteArray(R"({"workflow": "sd15", "inputs": [1]})") << 400
                                       << "type_mismatch";
    QTest::newRow("bad input type") << QByteArray(R"({"workflow": "sd15", "inputs": {"3.steps": "many"}})") << 400
                                    << "type_mismatch";
    QTest::newRow("unknown input") << QByteArray(R"({"workflow": "sd15", "inputs": {"3.nope": 1}})") << 400
                                   << "unknown_input";
    QTest::newRow("client_ref not string")
        << QByteArray(R"({"workflow": "sd15", "client_ref": 1})") << 400 << "type_mismatch";
    QTest::newRow("wait bad") << QByteArray(R"({"workflow": "sd15", "wait": "yes"})") << 400 << "type_mismatch";
    QTest::newRow("graph not object") << QByteArray(R"({"graph": [1]})") << 400 << "type_mismatch";
    QTest::newRow("graph invalid") << QByteArray(R"({"graph": {"1": 5}})") << 400 << "invalid_workflow";
}

void TstApiJobs::createErrors()
{
    QFETCH(QByteArray, body);
    QFETCH(int, status);
    QFETCH(QString, code);
    ApiTestEnv env;
    QVERIFY(env.ok());
    const HttpResult r = env.call("POST", QStringLiteral("/api/v1/jobs"), body);
    QCOMPARE(r.status, status);
    QCOMPARE(r.errorCode(), code);
    QCOMPARE(env.fake().promptCount(), 0);
}

void TstApiJobs::comfyValidationIsCarriedThrough()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    const HttpResult r = env.call("POST", QStringLiteral("/api/v1/jobs"),
                                  R"({"workflow": "sd15", "inputs": {"4.ckpt_name": "missing.safetensors"}})");
    QCOMPARE(r.status, 422);
    QCOMPARE(r.errorCode(), QStringLiteral("comfy_validation"));
    const QJsonObject details = r.json()[QStringLiteral("error")][QStringLiteral("details")].toObject();
    QVERIFY2(details.value(QStringLiteral("node_errors")).toObject().contains(QStringLiteral("4")), r.body.constData());
    QCOMPARE(env.call("GET", QStringLiteral("/api/v1/jobs")).json()[QStringLiteral("total")].toInt(), 0);
}

void TstApiJobs::graphJob()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    QFile f(QStringLiteral(CR_SOURCE_DIR "/workflows/sd15_txt2img.json"));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray body = R"({"graph": )" + f.readAll() + R"(, "inputs": {"6.text": "posted"}, "wait": 30})";
    const HttpResult r = env.call("POST", QStringLiteral("/api/v1/jobs"), body);
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json()[QStringLiteral("state")].toString(), QStringLiteral("succeeded"));
    QVERIFY(r.json()[QStringLiteral("workflow")].isNull());
    QCOMPARE(env.fake()
                 .lastPromptBody()[QStringLiteral("prompt")][QStringLiteral("6")][QStringLiteral("inputs")]
                                  [QStringLiteral("text")]
                 .toString(),
             QStringLiteral("posted"));
}

void TstApiJobs::listFiltersAndPages()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    QStringList ids;
    for (int i = 0; i < 3; ++i)
        ids << env.call("POST", QStringLiteral("/api/v1/jobs"), R"({"workflow": "sd15", "wait": true})")
                   .json()[QStringLiteral("id")]
                   .toString();
    HttpResult r = env.call("GET", QStringLiteral("/api/v1/jobs?limit=2"));
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json()[QStringLiteral("total")].toInt(), 3);
    QCOMPARE(r.json()[QStringLiteral("jobs")].toArray().size(), 2);
    QCOMPARE(r.json()[QStringLiteral("jobs")].toArray().at(0)[QStringLiteral("id")].toString(),
             ids.last()); // newest first
    r = env.call("GET", QStringLiteral("/api/v1/jobs?limit=2&offset=2"));
    QCOMPARE(r.json()[QStringLiteral("jobs")].toArray().size(), 1);
    QCOMPARE(r.json()[QStringLiteral("jobs")].toArray().at(0)[QStringLiteral("id")].toString(), ids.first());
    r = env.call("GET", QStringLiteral("/api/v1/jobs?state=failed"));
    QCOMPARE(r.json()[QStringLiteral("total")].toInt(), 0);
    r = env.call("GET", QStringLiteral("/api/v1/jobs?state=succeeded&workflow=sd15"));
    QCOMPARE(r.json()[QStringLiteral("total")].toInt(), 3);
    r = env.call("GET", QStringLiteral("/api/v1/jobs?workflow=other"));
    QCOMPARE(r.json()[QStringLiteral("total")].toInt(), 0);
}

void TstApiJobs::listBadParams_data()
{
    QTest::addColumn<QString>("query");
    QTest::newRow("state") << "state=done";
    QTest::newRow("limit zero") << "limit=0";
    QTest::newRow("limit huge") << "limit=100000";
    QTest::newRow("offset negative") << "offset=-1";
    QTest::newRow("offset text") << "offset=abc";
}

void TstApiJobs::listBadParams()
{
    QFETCH(QString, query);
    ApiTestEnv env;
    QVERIFY(env.ok());
    const HttpResult r = env.call("GET", QStringLiteral("/api/v1/jobs?") + query);
    QCOMPARE(r.status, 400);
    QCOMPARE(r.errorCode(), QStringLiteral("invalid_request"));
}

void TstApiJobs::cancelAndConflict()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    env.fake().setSteps(200);
    env.fake().setStepIntervalMs(20);
    const QString id = env.call("POST", QStringLiteral("/api/v1/jobs"), kRun).json()[QStringLiteral("id")].toString();
    HttpResult r = env.call("POST", QStringLiteral("/api/v1/jobs/%1/cancel").arg(id));
    QCOMPARE(r.status, 202);
    QCOMPARE(r.json()[QStringLiteral("cancel_requested")].toBool(), true);
    QTRY_COMPARE_WITH_TIMEOUT(
        env.call("GET", QStringLiteral("/api/v1/jobs/") + id).json()[QStringLiteral("state")].toString(),
        QStringLiteral("cancelled"), 10000);
    r = env.call("POST", QStringLiteral("/api/v1/jobs/%1/cancel").arg(id));
    QCOMPARE(r.status, 409);
    QCOMPARE(r.errorCode(), QStringLiteral("job_conflict"));
    QVERIFY(!env.fake().interruptRequests().contains(QString())); // never a global interrupt
}

void TstApiJobs::unknownJob_data()
{
    QTest::addColumn<QByteArray>("verb");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("code");
    QTest::newRow("get") << QByteArray("GET") << "/api/v1/jobs/nope"
                         << "job_not_found";
    QTest::newRow("cancel") << QByteArray("POST") << "/api/v1/jobs/nope/cancel"
                            << "job_not_found";
    QTest::newRow("output") << QByteArray("GET") << "/api/v1/jobs/nope/outputs/0"
                            << "job_not_found";
    QTest::newRow("too deep") << QByteArray("GET") << "/api/v1/jobs/a/b/c/d"
                              << "not_found";
    QTest::newRow("trailing slash") << QByteArray("GET") << "/api/v1/jobs/"
                                    << "not_found";
}

void TstApiJobs::unknownJob()
{
    QFETCH(QByteArray, verb);
    QFETCH(QString, path);
    QFETCH(QString, code);
    ApiTestEnv env;
    QVERIFY(env.ok());
    const HttpResult r = env.call(verb, path);
    QCOMPARE(r.status, 404);
    QCOMPARE(r.errorCode(), code);
}

void TstApiJobs::outputStreamsTheFile()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    const QJsonObject job
        = env.call("POST", QStringLiteral("/api/v1/jobs"), R"({"workflow": "sd15", "wait": true})").json();
    const QString id = job[QStringLiteral("id")].toString();
    const QJsonObject out = job[QStringLiteral("outputs")].toArray().at(0).toObject();
    const std::optional<QByteArray> expected
        = std::as_const(env.fake())
              .files()
              .read(out[QStringLiteral("type")].toString(), out[QStringLiteral("subfolder")].toString(),
                    out[QStringLiteral("filename")].toString());
    QVERIFY(expected && !expected->isEmpty());
    HttpResult r = env.call("GET", out[QStringLiteral("url")].toString());
    QCOMPARE(r.status, 200);
    QCOMPARE(r.header("Content-Type"), QByteArray("image/png"));
    QCOMPARE(r.body, *expected);
    r = env.call("HEAD", out[QStringLiteral("url")].toString());
    QCOMPARE(r.status, 200);
    QVERIFY(r.body.isEmpty());
    r = env.call("GET", QStringLiteral("/api/v1/jobs/%1/outputs/1").arg(id));
    QCOMPARE(r.status, 404);
    QCOMPARE(r.errorCode(), QStringLiteral("output_not_found"));
    r = env.call("GET", QStringLiteral("/api/v1/jobs/%1/outputs/-1").arg(id));
    QCOMPARE(r.errorCode(), QStringLiteral("output_not_found"));
}

// A path index is a number in its canonical spelling only: an encoded NUL (the number parser stopped at it and
// served output 0), a sign, a space, leading zeros, hex or a huge value name no output (404 with the index).
void TstApiJobs::outputIndexMustBeCanonical_data()
{
    QTest::addColumn<QByteArray>("index"); // as sent on the request line
    QTest::newRow("encoded NUL") << QByteArray("0%00garbage");
    QTest::newRow("plus") << QByteArray("+0");
    QTest::newRow("encoded plus") << QByteArray("%2B0");
    QTest::newRow("leading space") << QByteArray("%200");
    QTest::newRow("trailing space") << QByteArray("0%20");
    QTest::newRow("leading zero") << QByteArray("00");
    QTest::newRow("hex") << QByteArray("0x1");
    QTest::newRow("exponent") << QByteArray("0e0");
    QTest::newRow("huge") << QByteArray("99999999999999999999999");
    QTest::newRow("int overflow") << QByteArray("4294967296");
}

void TstApiJobs::outputIndexMustBeCanonical()
{
    QFETCH(QByteArray, index);
    ApiTestEnv env;
    QVERIFY(env.ok());
    const QString id = env.call("POST", QStringLiteral("/api/v1/jobs"), R"({"workflow": "sd15", "wait": true})")
                           .json()[QStringLiteral("id")]
                           .toString();
    QVERIFY(!id.isEmpty());
    RawClient c(env.port());
    c.socket.write("GET /api/v1/jobs/" + id.toLatin1() + "/outputs/" + index + " HTTP/1.1\r\nHost: x\r\n\r\n");
    QVERIFY2(c.waitFor("}"), c.received.constData());
    QVERIFY2(c.received.startsWith("HTTP/1.1 404 "), c.received.constData());
    QVERIFY(c.received.contains("\"output_not_found\""));
    QVERIFY(!c.received.contains("image/png"));
    QCOMPARE(env.call("GET", QStringLiteral("/api/v1/jobs/%1/outputs/0").arg(id)).status,
             200); // the real one still works
}

void TstApiJobs::tenConcurrentWaiters()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    QList<QNetworkReply *> replies;
    for (int i = 0; i < 10; ++i)
        replies << env.send(
            "POST", QStringLiteral("/api/v1/jobs"),
            QStringLiteral(R"({"workflow": "sd15", "inputs": {"prompt": "p%1"}, "wait": true})").arg(i).toUtf8());
    QTRY_VERIFY_WITH_TIMEOUT(
        std::all_of(replies.cbegin(), replies.cend(), [](QNetworkReply *r) { return r->isFinished(); }), 30000);
    QSet<QString> ids, files;
    for (int i = 0; i < replies.size(); ++i) {
        const HttpResult r = ApiTestEnv::collect(replies.at(i));
        QCOMPARE(r.status, 200);
        const QString id = r.json()[QStringLiteral("id")].toString();
        ids.insert(id);
        // Each answer is about its own job: the prompt it was submitted with.
        const QJsonObject body = env.fake().promptBodies().at(env.fake().acceptedPromptIds().indexOf(id));
        QCOMPARE(body[QStringLiteral("prompt")][QStringLiteral("6")][QStringLiteral("inputs")][QStringLiteral("text")]
                     .toString(),
                 QStringLiteral("p%1").arg(i));
        files.insert(r.json()[QStringLiteral("outputs")].toArray().at(0)[QStringLiteral("filename")].toString());
        delete replies.at(i);
    }
    QCOMPARE(ids.size(), 10);
    QCOMPARE(files.size(), 10);
}

void TstApiJobs::waiterLeavesJobCompletes()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    env.fake().setSteps(20);
    env.fake().setStepIntervalMs(20);
    QSignalSpy queued(&env.jobs(), &JobManager::jobQueued);
    QSignalSpy finished(&env.jobs(), &JobManager::jobFinished);
    QTcpSocket s;
    s.connectToHost(QHostAddress::LocalHost, env.port());
    QVERIFY(s.waitForConnected(5000));
    const QByteArray body = R"({"workflow": "sd15", "wait": true})";
    s.write("POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
            + QByteArray::number(body.size()) + "\r\n\r\n" + body);
    QVERIFY(queued.wait(5000));
    s.abort();
    QVERIFY(finished.wait(10000));
    const Job job = finished.at(0).at(0).value<Job>();
    QCOMPARE(job.state, JobState::Succeeded);
    QVERIFY(env.fake().interruptRequests().isEmpty());
    QVERIFY(env.fake().deleteRequests().isEmpty());
}

void TstApiJobs::waitTimeout()
{
    ApiTestEnv env({}, [](Config &c) { c.http.waitTimeoutMs = 300; });
    QVERIFY(env.ok());
    env.fake().setSteps(100);
    env.fake().setStepIntervalMs(50);
    // A wait that runs out is no gateway failure: 202 with the job as it is and its Location, as without wait.
    const HttpResult r = env.call("POST", QStringLiteral("/api/v1/jobs"), R"({"workflow": "sd15", "wait": true})");
    QCOMPARE(r.status, 202);
    const QString id = r.json()[QStringLiteral("id")].toString();
    QVERIFY(env.jobs().find(id));
    QVERIFY(!env.jobs().find(id)->isFinished());
    const QString state = r.json()[QStringLiteral("state")].toString();
    QVERIFY2(state == QLatin1String("queued") || state == QLatin1String("running"), qPrintable(state));
    QCOMPARE(r.header("Location"), QStringLiteral("/api/v1/jobs/%1").arg(id).toUtf8());
    QCOMPARE(env.server().waitingCount(), 0);
}

// Service::stopApi() destroys the ApiServer while submissions still wait for ComfyUI's (delayed) answer; when
// it arrives the routes' callbacks must not run (before the fix they reached the freed JobWaiter: invalid
// reads under valgrind). Both submitting routes; the jobs themselves go on to the end.
void TstApiJobs::serverGoneBeforeComfyAnswers()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    env.fake().setSteps(2);
    env.fake().setResponseDelay(300);
    QSignalSpy queued(&env.jobs(), &JobManager::jobQueued);
    QSignalSpy finished(&env.jobs(), &JobManager::jobFinished);
    QNetworkReply *created = env.send("POST", QStringLiteral("/api/v1/jobs"), R"({"workflow": "sd15", "wait": true})");
    QNetworkReply *legacy = env.send("GET", QStringLiteral("/queue"));
    QTRY_COMPARE_WITH_TIMEOUT(env.fake().promptCount(), 2, 5000);
    QCOMPARE(queued.count(), 0); // ComfyUI has not answered yet
    env.stopServer();
    QTRY_VERIFY_WITH_TIMEOUT(created->isFinished() && legacy->isFinished(), 5000); // their connections closed
    QTRY_COMPARE_WITH_TIMEOUT(queued.count(), 2, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 10000);
    for (const QList<QVariant> &args : std::as_const(finished))
        QCOMPARE(args.at(0).value<Job>().state, JobState::Succeeded);
}

void TstApiJobs::legacyQueue()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    QCOMPARE(env.call("POST", QStringLiteral("/update/text"), R"({"text": "legacy cat"})").status, 200);
    HttpResult r = env.call("GET", QStringLiteral("/queue"));
    QCOMPARE(r.status, 200);
    const QJsonObject o = r.json();
    QCOMPARE(o[QStringLiteral("status")].toString(), QStringLiteral("success"));
    const QString id = o[QStringLiteral("prompt_id")].toString();
    // Absolute, through the host the client used, so Python clients can fetch it as it is.
    const QUrl imageUrl(o[QStringLiteral("image_url")].toString());
    QCOMPARE(imageUrl, env.url(QStringLiteral("/api/v1/jobs/%1/outputs/0").arg(id)));
    QCOMPARE(o[QStringLiteral("images")].toArray().at(0).toObject()[QStringLiteral("url")].toString(),
             imageUrl.toString());
    QVERIFY(o[QStringLiteral("image_filename")].toString().endsWith(QStringLiteral(".png")));
    QCOMPARE(o[QStringLiteral("images")].toArray().size(), 1);
    QCOMPARE(env.fake()
                 .lastPromptBody()[QStringLiteral("prompt")][QStringLiteral("6")][QStringLiteral("inputs")]
                                  [QStringLiteral("text")]
                 .toString(),
             QStringLiteral("legacy cat"));
    QCOMPARE(env.call("GET", imageUrl.path()).status, 200);
    // A runtime failure: 502 comfy_error with the job and ComfyUI's message.
    QCOMPARE(env.call("POST", QStringLiteral("/update/text"), R"({"text": "not cached"})").status, 200);
    env.fake().failNextPrompt(QStringLiteral("3"), QStringLiteral("boom"));
    r = env.call("GET", QStringLiteral("/queue"));
    QCOMPARE(r.status, 502);
    QCOMPARE(r.errorCode(), QStringLiteral("comfy_error"));
    QCOMPARE(
        r.json()[QStringLiteral("error")][QStringLiteral("details")][QStringLiteral("job")][QStringLiteral("state")]
            .toString(),
        QStringLiteral("failed"));
    QCOMPARE(r.json()[QStringLiteral("error")][QStringLiteral("details")][QStringLiteral("job")]
                     [QStringLiteral("error")][QStringLiteral("node_id")]
                         .toString(),
             QStringLiteral("3"));
}

void TstApiJobs::legacyInterrupt()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    env.fake().setSteps(200);
    env.fake().setStepIntervalMs(20);
    QNetworkReply *waiting = env.send("GET", QStringLiteral("/queue"));
    QSignalSpy queued(&env.jobs(), &JobManager::jobQueued);
    QVERIFY(queued.wait(5000));
    const HttpResult r = env.call("POST", QStringLiteral("/interrupt"));
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json()[QStringLiteral("cancelled")].toInt(), 1);
    QSignalSpy done(waiting, &QNetworkReply::finished);
    QVERIFY(waiting->isFinished() || done.wait(10000));
    const HttpResult q = ApiTestEnv::collect(waiting);
    delete waiting;
    QCOMPARE(q.status, 409);
    QCOMPARE(q.errorCode(), QStringLiteral("job_conflict"));
    QVERIFY(!env.fake().interruptRequests().contains(QString()));
}

void TstApiJobs::upload()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    const QByteArray png = QByteArray::fromBase64(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");
    const QByteArray boundary = "XyZb0undary";
    QByteArray body = "--" + boundary
        + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"dot.png\"\r\nContent-Type: image/png\r\n\r\n"
        + png + "\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"overwrite\"\r\n\r\ntrue\r\n--"
        + boundary + "--\r\n";
    const HttpResult r
        = env.call("POST", QStringLiteral("/api/v1/uploads"), body, "multipart/form-data; boundary=" + boundary);
    QCOMPARE(r.status, 201);
    QCOMPARE(r.json()[QStringLiteral("name")].toString(), QStringLiteral("dot.png"));
    QCOMPARE(r.json()[QStringLiteral("type")].toString(), QStringLiteral("input"));
    QCOMPARE(std::as_const(env.fake())
                 .files()
                 .read(QStringLiteral("input"), QString(), QStringLiteral("dot.png"))
                 .value_or(QByteArray()),
             png);
}

void TstApiJobs::uploadErrors()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    HttpResult r = env.call("POST", QStringLiteral("/api/v1/uploads"), "{}", "application/json");
    QCOMPARE(r.status, 400);
    QCOMPARE(r.errorCode(), QStringLiteral("invalid_request"));
    r = env.call("POST", QStringLiteral("/api/v1/uploads"),
                 "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b--\r\n",
                 "multipart/form-data; boundary=b");
    QCOMPARE(r.status, 400);
    QCOMPARE(r.errorCode(), QStringLiteral("missing_field"));
    r = env.call("POST", QStringLiteral("/api/v1/uploads"),
                 "--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\nxx",
                 "multipart/form-data; boundary=b");
    QCOMPARE(r.status, 400);
    QCOMPARE(r.errorCode(), QStringLiteral("invalid_request"));
}

void TstApiJobs::uploadBadNames_data()
{
    QTest::addColumn<QByteArray>("fileName");
    QTest::addColumn<QByteArray>("subfolder"); // empty: no subfolder field
    QTest::addColumn<QString>("field");
    QTest::newRow("parent folder") << QByteArray("../../evil.png") << QByteArray() << u"image"_s;
    QTest::newRow("dot dot") << QByteArray("..") << QByteArray() << u"image"_s;
    QTest::newRow("dot") << QByteArray(".") << QByteArray() << u"image"_s;
    QTest::newRow("slash") << QByteArray("a/b.png") << QByteArray() << u"image"_s;
    QTest::newRow("backslash") << QByteArray("a\\b.png") << QByteArray() << u"image"_s;
    QTest::newRow("NUL") << QByteArray("a\0.png", 6) << QByteArray() << u"image"_s;
    QTest::newRow("256 bytes") << QByteArray(252, 'x') + ".png" << QByteArray() << u"image"_s;
    QTest::newRow("subfolder parent") << QByteArray("ok.png") << QByteArray("a/../..") << u"subfolder"_s;
    QTest::newRow("subfolder absolute") << QByteArray("ok.png") << QByteArray("/etc") << u"subfolder"_s;
    QTest::newRow("subfolder backslash") << QByteArray("ok.png") << QByteArray("a\\b") << u"subfolder"_s;
    QTest::newRow("subfolder empty part") << QByteArray("ok.png") << QByteArray("a//b") << u"subfolder"_s;
}

// Names that could leave ComfyUI's folder are the client's 400 invalid_field and never reach ComfyUI.
void TstApiJobs::uploadBadNames()
{
    QFETCH(QByteArray, fileName);
    QFETCH(QByteArray, subfolder);
    QFETCH(QString, field);
    ApiTestEnv env;
    QVERIFY(env.ok());
    QByteArray body
        = "--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"" + fileName + "\"\r\n\r\nxx\r\n";
    if (!subfolder.isEmpty())
        body += "--b\r\nContent-Disposition: form-data; name=\"subfolder\"\r\n\r\n" + subfolder + "\r\n";
    body += "--b--\r\n";
    const HttpResult r = env.call("POST", u"/api/v1/uploads"_s, body, "multipart/form-data; boundary=b");
    QCOMPARE(r.status, 400);
    QCOMPARE(r.errorCode(), u"invalid_field"_s);
    QCOMPARE(r.json()[u"error"_s][u"details"_s][u"field"_s].toString(), field);
    QVERIFY(!env.fake().requestLog().contains(u"POST /upload/image"_s));

    // A name of 255 bytes is fine.
    const QByteArray longest = QByteArray(251, 'y') + ".png";
    const HttpResult ok = env.call("POST", u"/api/v1/uploads"_s,
                                   "--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"" + longest
                                       + "\"\r\n\r\nxx\r\n--b--\r\n",
                                   "multipart/form-data; boundary=b");
    QCOMPARE(ok.status, 201);
    QCOMPARE(ok.json()[u"name"_s].toString(), QString::fromLatin1(longest));
}

QTEST_GUILESS_MAIN(TstApiJobs)
#include "tst_apijobs.moc"
