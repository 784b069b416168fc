// A newer ComfyUI against the runner, with the fake in its modern mode (FakeComfyOptions::modernApi): a job is
// cancelled through POST /api/jobs/{prompt_id}/cancel where the backend advertises it (running and pending
// in ComfyUI's queue), and through /queue delete + /interrupt where it does not; prompt ids (the runner's
// and a caller's, any UUID spelling) reach ComfyUI as canonical lowercase UUIDs, which the modern fake
// insists on; subgraph node ids ("194:45") and node replacements (an old input name) work in named inputs.

#include "core/pool/backendpool.h"
#include "sim/orderedjson.h"
#include "tests/api/apitestenv.h"

#include <QFile>
#include <QJsonArray>
#include <QtTest>

using namespace cr;
using namespace cr::testing;

namespace {

void slowSteps(sim::FakeComfy &fake)
{
    fake.setSteps(400);
    fake.setStepIntervalMs(20); // 8 s: long enough to be cancelled while it runs
}

void modernSlow(sim::FakeComfy &fake)
{
    fake.setModernApi(true);
    slowSteps(fake);
}

QString submit(ApiTestEnv &env, const QByteArray &body = R"({"workflow": "sd15"})")
{
    return env.call("POST", QStringLiteral("/api/v1/jobs"), body).json()[QStringLiteral("id")].toString();
}

QString stateOf(ApiTestEnv &env, const QString &id)
{
    return env.call("GET", QStringLiteral("/api/v1/jobs/%1").arg(id)).json()[QStringLiteral("state")].toString();
}

bool isCanonical(const QString &id)
{
    const QUuid u = QUuid::fromString(id);
    return !u.isNull() && u.toString(QUuid::WithoutBraces) == id;
}

} // namespace

class TstApiModern : public QObject
{
    Q_OBJECT

private slots:
    void advertisedFeatureIsSeen();
    void legacyCancelWithoutTheFeature();
    void modernCancelRunning();
    void modernCancelPending();
    void strictPromptIds();
    void callerPromptId_data();
    void callerPromptId();
    void subgraphIdsAndReplacements();
};

void TstApiModern::advertisedFeatureIsSeen()
{
    ApiTestEnv legacy;
    QVERIFY(legacy.ok());
    ApiTestEnv modern({}, {}, {}, [](sim::FakeComfy &f) { f.setModernApi(true); });
    QVERIFY(modern.ok());
    QTRY_VERIFY_WITH_TIMEOUT(modern.jobs().pool()->first()->client()->supportsJobCancel(), 5000);
    QVERIFY(!legacy.jobs().pool()->first()->client()->supportsJobCancel());
}

void TstApiModern::legacyCancelWithoutTheFeature()
{
    ApiTestEnv env({}, {}, {}, slowSteps);
    QVERIFY(env.ok());
    const QString id = submit(env);
    QVERIFY(!id.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(env, id), QStringLiteral("running"), 5000);
    QCOMPARE(env.call("POST", QStringLiteral("/api/v1/jobs/%1/cancel").arg(id)).status, 202);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(env, id), QStringLiteral("cancelled"), 5000);
    QVERIFY(env.fake().deleteRequests().contains(id));
    QVERIFY(env.fake().interruptRequests().contains(id));
    QVERIFY(env.fake().jobCancelRequests().isEmpty());
}

void TstApiModern::modernCancelRunning()
{
    ApiTestEnv env({}, {}, {}, modernSlow);
    QVERIFY(env.ok());
    QTRY_VERIFY_WITH_TIMEOUT(env.jobs().pool()->first()->client()->supportsJobCancel(), 5000);
    const QString id = submit(env);
    QVERIFY(isCanonical(id)); // the runner's own ids pass the strict fake
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(env, id), QStringLiteral("running"), 5000);
    QCOMPARE(env.call("POST", QStringLiteral("/api/v1/jobs/%1/cancel").arg(id)).status, 202);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(env, id), QStringLiteral("cancelled"), 5000);
    QCOMPARE(env.fake().jobCancelRequests(), QStringList{id});
    QVERIFY(env.fake().deleteRequests().isEmpty());
    QVERIFY(env.fake().interruptRequests().isEmpty());
    QVERIFY(env.fake().requestLog().contains(QStringLiteral("POST /api/jobs/%1/cancel").arg(id)));
}

void TstApiModern::modernCancelPending()
{
    ApiTestEnv env({}, {}, {}, modernSlow);
    QVERIFY(env.ok());
    QTRY_VERIFY_WITH_TIMEOUT(env.jobs().pool()->first()->client()->supportsJobCancel(), 5000);
    const QString first = submit(env);
    const QString second = submit(env); // handed over too: it waits in ComfyUI's queue
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(env, first), QStringLiteral("running"), 5000);
    QCOMPARE(stateOf(env, second), QStringLiteral("queued"));
    QCOMPARE(env.call("POST", QStringLiteral("/api/v1/jobs/%1/cancel").arg(second)).status, 202);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(env, second), QStringLiteral("cancelled"), 5000);
    QCOMPARE(stateOf(env, first), QStringLiteral("running")); // nobody else's work was touched
    QCOMPARE(env.fake().jobCancelRequests(), QStringList{second});
    QVERIFY(env.fake().interruptRequests().isEmpty());
}

void TstApiModern::strictPromptIds()
{
    // The modern fake itself: only canonical lowercase UUIDs.
    sim::FakeComfy fake;
    fake.setModernApi(true);
    QVERIFY(fake.listen());
    QFile f(QStringLiteral(CR_SOURCE_DIR "/workflows/sd15_txt2img.json"));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray graph = f.readAll();
    QNetworkAccessManager nam;
    auto post = [&](const QString &promptId) {
        QNetworkRequest req(QUrl(fake.httpUrl().toString() + QStringLiteral("/prompt")));
        req.setHeader(QNetworkRequest::ContentTypeHeader, "application/json");
        QNetworkReply *r = nam.post(req, R"({"prompt": )" + graph + R"(, "prompt_id": ")" + promptId.toUtf8() + "\"}");
        QSignalSpy done(r, &QNetworkReply::finished);
        done.wait(5000);
        const int status = r->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        r->deleteLater();
        return status;
    };
    const QString uuid = QUuid::createUuid().toString(QUuid::WithoutBraces);
    QCOMPARE(post(uuid.toUpper()), 400);
    QCOMPARE(post(QStringLiteral("{%1}").arg(uuid)), 400);
    QCOMPARE(post(QStringLiteral("job-17")), 400);
    QCOMPARE(post(uuid), 200);
    fake.setModernApi(false); // ComfyUI 0.8 takes anything
    QCOMPARE(post(QStringLiteral("job-17")), 200);
}

void TstApiModern::callerPromptId_data()
{
    QTest::addColumn<QString>("given");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("code");
    const QString uuid = QStringLiteral("6f1e2d3c-4b5a-4978-8877-665544332211");
    QTest::newRow("canonical") << uuid << 202 << QString();
    QTest::newRow("upper case") << uuid.toUpper() << 202 << QString();
    QTest::newRow("braces") << QStringLiteral("{%1}").arg(uuid.toUpper()) << 202 << QString();
    QTest::newRow("not a uuid") << QStringLiteral("order-17") << 400 << QStringLiteral("invalid_field");
    QTest::newRow("almost") << uuid.left(35) << 400 << QStringLiteral("invalid_field");
}

void TstApiModern::callerPromptId()
{
    QFETCH(QString, given);
    QFETCH(int, status);
    QFETCH(QString, code);
    ApiTestEnv env({}, {}, {}, [](sim::FakeComfy &f) { f.setModernApi(true); });
    QVERIFY(env.ok());
    const QByteArray body = QStringLiteral(R"({"workflow": "sd15", "prompt_id": "%1"})").arg(given).toUtf8();
    const HttpResult r = env.call("POST", QStringLiteral("/api/v1/jobs"), body);
    QCOMPARE(r.status, status);
    if (!code.isEmpty()) {
        QCOMPARE(r.errorCode(), code);
        QCOMPARE(r.json()[QStringLiteral("error")][QStringLiteral("details")][QStringLiteral("field")].toString(),
                 QStringLiteral("prompt_id"));
        return;
    }
    const QString canonical = QStringLiteral("6f1e2d3c-4b5a-4978-8877-665544332211");
    QCOMPARE(r.json()[QStringLiteral("id")].toString(), canonical);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(env, canonical), QStringLiteral("succeeded"), 10000);
    QCOMPARE(env.fake().lastPromptBody()[QStringLiteral("prompt_id")].toString(), canonical);
    // The same id again is a conflict, whatever its spelling.
    const HttpResult again = env.call("POST", QStringLiteral("/api/v1/jobs"), body);
    QCOMPARE(again.status, 409);
    QCOMPARE(again.errorCode(), QStringLiteral("job_conflict"));
}

void TstApiModern::subgraphIdsAndReplacements()
{
    // ComfyUI's shape of GET /node_replacements: an old class whose "factor" became ImageScaleBy's "scale_by".
    const std::optional<sim::OrderedJson> table = sim::OrderedJson::parse(R"({"OldScaleBy": [{
        "new_node_id": "ImageScaleBy", "old_node_id": "OldScaleBy", "old_widget_ids": null,
        "input_mapping": [{"new_id": "scale_by", "old_id": "factor"},
                          {"new_id": "upscale_method", "set_value": "nearest-exact"}],
        "output_mapping": null}]})");
    QVERIFY(table);
    ApiTestEnv env({}, {}, {}, [&](sim::FakeComfy &f) {
        f.setModernApi(true);
        f.setNodeReplacements(*table);
    });
    QVERIFY(env.ok());
    QTRY_VERIFY_WITH_TIMEOUT(env.jobs().pool()->first()->capabilitiesKnown(), 5000);

    // The sd15 graph with its positive prompt and an upscale inside subgraph 194 (ids as ComfyUI's editor
    // exports them: "<subgraph node>:<inner node>").
    QFile f(QStringLiteral(CR_SOURCE_DIR "/workflows/sd15_txt2img.json"));
    QVERIFY(f.open(QIODevice::ReadOnly));
    QJsonObject graph = QJsonDocument::fromJson(f.readAll()).object();
    QJsonObject positive = graph.take(QStringLiteral("6")).toObject();
    positive.insert(QStringLiteral("_meta"), QJsonObject{{QStringLiteral("title"), QStringLiteral("Sub Prompt")}});
    graph.insert(QStringLiteral("194:6"), positive);
    QJsonObject sampler = graph.value(QStringLiteral("3")).toObject();
    QJsonObject samplerInputs = sampler.value(QStringLiteral("inputs")).toObject();
    samplerInputs.insert(QStringLiteral("positive"), QJsonArray{QStringLiteral("194:6"), 0});
    sampler.insert(QStringLiteral("inputs"), samplerInputs);
    graph.insert(QStringLiteral("3"), sampler);
    graph.insert(
        QStringLiteral("194:45"),
        QJsonObject{{QStringLiteral("class_type"), QStringLiteral("ImageScaleBy")},
                    {QStringLiteral("_meta"), QJsonObject{{QStringLiteral("title"), QStringLiteral("Upscale")}}},
                    {QStringLiteral("inputs"),
                     QJsonObject{{QStringLiteral("image"), QJsonArray{QStringLiteral("8"), 0}},
                                 {QStringLiteral("upscale_method"), QStringLiteral("nearest-exact")},
                                 {QStringLiteral("scale_by"), 1.25}}}});
    QJsonObject save = graph.value(QStringLiteral("9")).toObject();
    QJsonObject saveInputs = save.value(QStringLiteral("inputs")).toObject();
    saveInputs.insert(QStringLiteral("images"), QJsonArray{QStringLiteral("194:45"), 0});
    save.insert(QStringLiteral("inputs"), saveInputs);
    graph.insert(QStringLiteral("9"), save);

    struct Case {
        QJsonObject inputs;
        QString text;
        double scale;
    };
    const QList<Case> cases = {
        // "node.input" with subgraph ids, the old input name followed to the new one
        {QJsonObject{{QStringLiteral("194:6.text"), QStringLiteral("inside a subgraph")},
                     {QStringLiteral("194:45.factor"), 0.5}},
         QStringLiteral("inside a subgraph"), 0.5},
        // {"node": {input: value}} with the old name, and the node's title with the old name
        {QJsonObject{{QStringLiteral("194:45"), QJsonObject{{QStringLiteral("factor"), 0.75}}},
                     {QStringLiteral("Sub Prompt"), QStringLiteral("by title")}},
         QStringLiteral("by title"), 0.75},
        {QJsonObject{{QStringLiteral("Upscale.factor"), 1.5},
                     {QStringLiteral("194:6"), QJsonObject{{QStringLiteral("text"), QStringLiteral("whole node")}}}},
         QStringLiteral("whole node"), 1.5},
        // the new name works as well
        {QJsonObject{{QStringLiteral("194:45.scale_by"), 2.0}}, QStringLiteral("positive"), 2.0},
    };
    for (const Case &c : cases) {
        const QByteArray body = QJsonDocument(QJsonObject{{QStringLiteral("graph"), graph},
                                                          {QStringLiteral("inputs"), c.inputs},
                                                          {QStringLiteral("wait"), 30}})
                                    .toJson(QJsonDocument::Compact);
        const HttpResult r = env.call("POST", QStringLiteral("/api/v1/jobs"), body);
        QVERIFY2(r.status == 200, r.body.constData());
        QCOMPARE(r.json()[QStringLiteral("state")].toString(), QStringLiteral("succeeded"));
        const QJsonObject sent = env.fake().lastPromptBody()[QStringLiteral("prompt")].toObject();
        if (c.text != u"positive")
            QCOMPARE(sent[QStringLiteral("194:6")][QStringLiteral("inputs")][QStringLiteral("text")].toString(),
                     c.text);
        const QJsonObject scaled = sent[QStringLiteral("194:45")][QStringLiteral("inputs")].toObject();
        QCOMPARE(scaled[QStringLiteral("scale_by")].toDouble(), c.scale);
        QVERIFY(!scaled.contains(QStringLiteral("factor"))); // never an input ComfyUI would refuse
    }
    // Without the replacement the old name is an unknown input, as before.
    const QByteArray unknown
        = QJsonDocument(QJsonObject{{QStringLiteral("graph"), graph},
                                    {QStringLiteral("inputs"), QJsonObject{{QStringLiteral("194:45.factor2"), 1.0}}}})
              .toJson(QJsonDocument::Compact);
    const HttpResult bad = env.call("POST", QStringLiteral("/api/v1/jobs"), unknown);
    QCOMPARE(bad.status, 400);
    QCOMPARE(bad.errorCode(), QStringLiteral("unknown_input"));
}

QTEST_GUILESS_MAIN(TstApiModern)
#include "tst_apimodern.moc"
