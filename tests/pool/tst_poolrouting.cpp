// The service in front of three fake ComfyUIs: jobs spread over the backends; the filters (a missing node
// class, model file or tag everywhere is refused at once, a busy backend makes the job wait); affinity and
// least_loaded; priority; pinning; drain and resume; the request fields' types; GET /api/v1/backends.

#include "tests/pool/poolenv.h"

#include "core/relay/eventhub.h"
#include "protocol/relaycontrol.h"

#include <QFile>
#include <QJsonArray>
#include <QtTest>

using namespace cr;
using namespace cr::testing;
using namespace Qt::StringLiterals;

namespace {

QJsonObject ckpt(const QString &name, QJsonObject body = {})
{
    body.insert(u"inputs"_s, QJsonObject{{u"4.ckpt_name"_s, name}});
    return body;
}

void slow(PoolEnv &env, int steps = 30, int intervalMs = 20)
{
    for (int i = 0; i < env.fakeCount(); ++i) {
        env.fake(i).setSteps(steps);
        env.fake(i).setStepIntervalMs(intervalMs);
    }
}

QJsonObject sd15Graph()
{
    QFile f(QStringLiteral(CR_SOURCE_DIR "/workflows/sd15_txt2img.json"));
    return f.open(QIODevice::ReadOnly) ? QJsonDocument::fromJson(f.readAll()).object() : QJsonObject();
}

} // namespace

class TstPoolRouting : public QObject
{
    Q_OBJECT

private slots:
    void spreadsOverTheBackends();
    void missingModelClassOrTagIsRefusedAtOnce();
    void busyBackendMakesTheJobWait();
    void affinityPrefersTheSameCheckpoint();
    void leastLoadedIgnoresTheCheckpoint();
    void higherPriorityOvertakes();
    void pinnedJobsGoWhereTheySay();
    void drainAndResume();
    void requestFieldsAreTyped_data();
    void requestFieldsAreTyped();
    void backendsResource();
    void uploadsReachEveryBackend();
    void relayedEventsNameTheirBackend();
};

void TstPoolRouting::spreadsOverTheBackends()
{
    PoolEnv env;
    QVERIFY(env.ok());
    slow(env);
    QStringList ids, backends;
    for (int i = 0; i < 3; ++i) {
        const HttpResult r = env.post({});
        QCOMPARE(r.status, 202);
        ids << r.json()[u"id"_s].toString();
        backends << r.json()[u"backend"_s].toString(); // handed over before the answer
        QVERIFY(r.json()[u"queue_position"_s].isNull());
    }
    backends.sort();
    QCOMPARE(backends, (QStringList{u"gpu0"_s, u"gpu1"_s, u"gpu2"_s}));
    for (const QString &id : std::as_const(ids))
        QVERIFY(env.waitState(id, u"succeeded"_s));
    for (int i = 0; i < 3; ++i)
        QCOMPARE(env.fake(i).promptCount(), 1);
    const QJsonObject done = env.job(ids.first());
    const QJsonArray attempts = done[u"attempts"_s].toArray();
    QCOMPARE(attempts.size(), 1);
    QCOMPARE(attempts[0][u"prompt_id"_s].toString(), ids.first()); // attempt 1 runs under the job id
    QCOMPARE(attempts[0][u"outcome"_s].toString(), u"succeeded"_s);
    QVERIFY(!attempts[0][u"started_at"_s].toString().isEmpty());
    QCOMPARE(done[u"backend"_s].toString(), attempts[0][u"backend"_s].toString());
}

void TstPoolRouting::missingModelClassOrTagIsRefusedAtOnce()
{
    PoolEnv env(
        3, [](Config &c) { c.backends[2].tags = {u"sdxl"_s}; }, false);
    env.fake(0).setCheckpoints({u"a.safetensors"_s});
    env.fake(1).setCheckpoints({u"b.safetensors"_s});
    env.fake(2).setCheckpoints({u"b.safetensors"_s});
    QVERIFY(env.start());

    // A model only gpu0 has: gpu0, every time.
    for (int i = 0; i < 2; ++i) {
        const QString id = env.submit(ckpt(u"a.safetensors"_s));
        QVERIFY(env.waitState(id, u"succeeded"_s));
        QCOMPARE(env.job(id)[u"backend"_s].toString(), u"gpu0"_s);
    }
    // A model nobody has: refused at once, naming what each lacks; no ComfyUI saw it.
    const int before = env.totalPrompts();
    HttpResult r = env.post(ckpt(u"c.safetensors"_s));
    QCOMPARE(r.status, 422);
    QCOMPARE(r.errorCode(), u"no_backend_can_run"_s);
    const QJsonObject perBackend = r.json()[u"error"_s][u"details"_s][u"backends"_s].toObject();
    QCOMPARE(perBackend.size(), 3);
    for (const QString &name : {u"gpu0"_s, u"gpu1"_s, u"gpu2"_s})
        QVERIFY2(perBackend[name].toString().contains(u"model checkpoints/c.safetensors"_s), r.body.constData());
    // A node class nobody has.
    QJsonObject graph = sd15Graph();
    graph.insert(u"99"_s, QJsonObject{{u"class_type"_s, u"NoSuchNode"_s}, {u"inputs"_s, QJsonObject()}});
    r = env.post({{u"graph"_s, graph}});
    QCOMPARE(r.status, 422);
    QCOMPARE(r.errorCode(), u"no_backend_can_run"_s);
    QVERIFY2(r.json()[u"error"_s][u"message"_s].toString().contains(u"node class NoSuchNode"_s), r.body.constData());
    // A LoRA nobody has (another model folder).
    graph = sd15Graph();
    graph.insert(u"10"_s,
                 QJsonObject{{u"class_type"_s, u"LoraLoader"_s},
                             {u"inputs"_s,
                              QJsonObject{{u"lora_name"_s, u"style.safetensors"_s},
                                          {u"strength_model"_s, 1},
                                          {u"strength_clip"_s, 1},
                                          {u"model"_s, QJsonArray{u"4"_s, 0}},
                                          {u"clip"_s, QJsonArray{u"4"_s, 1}}}}});
    r = env.post({{u"graph"_s, graph}});
    QCOMPARE(r.errorCode(), u"no_backend_can_run"_s);
    QVERIFY2(r.body.contains("model loras/style.safetensors"), r.body.constData());
    // A tag: only gpu2 carries it; a tag nobody carries is refused.
    const QString tagged = env.submit(ckpt(u"b.safetensors"_s, {{u"tags"_s, QJsonArray{u"sdxl"_s}}}));
    QVERIFY(env.waitState(tagged, u"succeeded"_s));
    QCOMPARE(env.job(tagged)[u"backend"_s].toString(), u"gpu2"_s);
    r = env.post({{u"tags"_s, QJsonArray{u"nope"_s}}});
    QCOMPARE(r.errorCode(), u"no_backend_can_run"_s);
    QVERIFY2(r.body.contains("tag \\\"nope\\\""), r.body.constData());
    QCOMPARE(env.totalPrompts(), before + 1); // only the tagged job reached a ComfyUI
    QCOMPARE(env.call("GET", u"/api/v1/jobs"_s).json()[u"total"_s].toInt(), 3);
}

void TstPoolRouting::busyBackendMakesTheJobWait()
{
    PoolEnv env(3, {}, false);
    env.fake(0).setCheckpoints({u"a.safetensors"_s});
    QVERIFY(env.start());
    env.fake(0).setSteps(40);
    env.fake(0).setStepIntervalMs(20);
    const QString first = env.submit(ckpt(u"a.safetensors"_s));
    QVERIFY(env.waitRunning(0, first));
    // gpu0 is the only one with the model and it is full (max_in_flight 1): the next one waits in the runner.
    const HttpResult r = env.post(ckpt(u"a.safetensors"_s));
    QCOMPARE(r.status, 202);
    const QString second = r.json()[u"id"_s].toString();
    QCOMPARE(r.json()[u"state"_s].toString(), u"queued"_s);
    QVERIFY(r.json()[u"backend"_s].isNull());
    QCOMPARE(r.json()[u"queue_position"_s].toInt(), 1);
    QCOMPARE(r.json()[u"attempts"_s].toArray().size(), 0);
    QCOMPARE(env.fake(0).promptCount(), 1);
    QVERIFY(env.waitState(second, u"succeeded"_s));
    const QJsonObject done = env.job(second);
    QCOMPARE(done[u"backend"_s].toString(), u"gpu0"_s);
    QVERIFY(done[u"queue_position"_s].isNull());
    QCOMPARE(env.fake(0).acceptedPromptIds(), (QStringList{first, second}));
    QCOMPARE(env.fake(1).promptCount() + env.fake(2).promptCount(), 0);
}

void TstPoolRouting::affinityPrefersTheSameCheckpoint()
{
    PoolEnv env(2);
    QVERIFY(env.ok());
    const QString first = env.submit(ckpt(u"rand_sd15.safetensors"_s));
    QVERIFY(env.waitState(first, u"succeeded"_s));
    const QString ran = env.job(first)[u"backend"_s].toString();
    // Round robin alone would pick the other one now; the same checkpoint goes back where it is loaded.
    for (int i = 0; i < 2; ++i) {
        const QString again = env.submit(ckpt(u"rand_sd15.safetensors"_s));
        QVERIFY(env.waitState(again, u"succeeded"_s));
        QCOMPARE(env.job(again)[u"backend"_s].toString(), ran);
    }
    QCOMPARE(env.call("GET", u"/api/v1/backends/"_s + ran).json()[u"last_checkpoint"_s].toString(),
             u"rand_sd15.safetensors"_s);
    // Another checkpoint: the other backend (least work, then round robin).
    const QString other = env.submit(ckpt(u"v1-5-pruned-emaonly.safetensors"_s));
    QVERIFY(env.waitState(other, u"succeeded"_s));
    QVERIFY(env.job(other)[u"backend"_s].toString() != ran);
}

void TstPoolRouting::leastLoadedIgnoresTheCheckpoint()
{
    PoolEnv env(2, [](Config &c) { c.jobs.routing = RoutingMode::LeastLoaded; });
    QVERIFY(env.ok());
    QStringList used;
    for (int i = 0; i < 4; ++i) {
        const QString id = env.submit(ckpt(u"rand_sd15.safetensors"_s));
        QVERIFY(env.waitState(id, u"succeeded"_s));
        used << env.job(id)[u"backend"_s].toString();
    }
    QCOMPARE(used, (QStringList{u"gpu0"_s, u"gpu1"_s, u"gpu0"_s, u"gpu1"_s}));
}

void TstPoolRouting::higherPriorityOvertakes()
{
    PoolEnv env(1);
    QVERIFY(env.ok());
    slow(env);
    const QString running = env.submit();
    QVERIFY(env.waitRunning(0, running));
    const QString low = env.submit({{u"priority"_s, 0}});
    QCOMPARE(env.job(low)[u"queue_position"_s].toInt(), 1);
    const HttpResult r = env.post({{u"priority"_s, 5}});
    const QString high = r.json()[u"id"_s].toString();
    QCOMPARE(r.json()[u"priority"_s].toInt(), 5);
    QCOMPARE(r.json()[u"queue_position"_s].toInt(), 1);
    QCOMPARE(env.job(low)[u"queue_position"_s].toInt(), 2);
    const QString alsoLow = env.submit({{u"priority"_s, 0}});
    QCOMPARE(env.job(alsoLow)[u"queue_position"_s].toInt(), 3); // FIFO within a level
    for (const QString &id : {running, low, high, alsoLow})
        QVERIFY(env.waitState(id, u"succeeded"_s));
    QCOMPARE(env.fake(0).acceptedPromptIds(), (QStringList{running, high, low, alsoLow}));
}

void TstPoolRouting::pinnedJobsGoWhereTheySay()
{
    PoolEnv env;
    QVERIFY(env.ok());
    for (int i = 0; i < 2; ++i) {
        const QString id = env.submit({{u"backend"_s, u"gpu2"_s}});
        QVERIFY(env.waitState(id, u"succeeded"_s));
        QCOMPARE(env.job(id)[u"backend"_s].toString(), u"gpu2"_s);
    }
    QCOMPARE(env.fake(2).promptCount(), 2);
    QCOMPARE(env.fake(0).promptCount() + env.fake(1).promptCount(), 0);
    const HttpResult r = env.post({{u"backend"_s, u"gpu9"_s}});
    QCOMPARE(r.status, 422);
    QCOMPARE(r.errorCode(), u"no_backend_can_run"_s);
    QVERIFY2(r.json()[u"error"_s][u"message"_s].toString().contains(u"no backend is named \"gpu9\""_s),
             r.body.constData());
}

void TstPoolRouting::drainAndResume()
{
    PoolEnv env;
    QVERIFY(env.ok());
    HttpResult r = env.call("POST", u"/api/v1/backends/gpu0/drain"_s);
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json()[u"state"_s].toString(), u"draining"_s);
    // Unpinned jobs go elsewhere; one pinned to gpu0 waits for it.
    for (int i = 0; i < 3; ++i) {
        const QString id = env.submit();
        QVERIFY(env.waitState(id, u"succeeded"_s));
        QVERIFY(env.job(id)[u"backend"_s].toString() != u"gpu0"_s);
    }
    const QString pinned = env.submit({{u"backend"_s, u"gpu0"_s}});
    QCOMPARE(env.job(pinned)[u"state"_s].toString(), u"queued"_s);
    QCOMPARE(env.job(pinned)[u"queue_position"_s].toInt(), 1);
    QCOMPARE(env.fake(0).promptCount(), 0);
    r = env.call("POST", u"/api/v1/backends/gpu0/resume"_s);
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json()[u"state"_s].toString(), u"connected"_s);
    QVERIFY(env.waitState(pinned, u"succeeded"_s));
    QCOMPARE(env.fake(0).promptCount(), 1);
    // Draining lets what it holds finish.
    slow(env);
    const QString held = env.submit(
        {{u"backend"_s, u"gpu1"_s}, {u"inputs"_s, QJsonObject{{u"6.text"_s, u"not cached"_s}}}}); // a new graph runs
    QVERIFY(env.waitRunning(1, held));
    QCOMPARE(env.call("POST", u"/api/v1/backends/gpu1/drain"_s).status, 200);
    QVERIFY(env.waitState(held, u"succeeded"_s));
    QCOMPARE(env.call("POST", u"/api/v1/backends/nope/drain"_s).errorCode(), u"backend_not_found"_s);
}

void TstPoolRouting::requestFieldsAreTyped_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("field");
    QTest::newRow("priority string") << QByteArray(R"({"workflow": "sd15", "priority": "high"})") << u"priority"_s;
    QTest::newRow("priority fraction") << QByteArray(R"({"workflow": "sd15", "priority": 1.5})") << u"priority"_s;
    QTest::newRow("backend number") << QByteArray(R"({"workflow": "sd15", "backend": 5})") << u"backend"_s;
    QTest::newRow("tags string") << QByteArray(R"({"workflow": "sd15", "tags": "sdxl"})") << u"tags"_s;
    QTest::newRow("tags numbers") << QByteArray(R"({"workflow": "sd15", "tags": [1]})") << u"tags"_s;
}

void TstPoolRouting::requestFieldsAreTyped()
{
    QFETCH(QByteArray, body);
    QFETCH(QString, field);
    PoolEnv env(1);
    QVERIFY(env.ok());
    const HttpResult r = env.call("POST", u"/api/v1/jobs"_s, body);
    QCOMPARE(r.status, 400);
    QCOMPARE(r.errorCode(), u"type_mismatch"_s);
    QCOMPARE(r.json()[u"error"_s][u"details"_s][u"field"_s].toString(), field);
    QCOMPARE(env.totalPrompts(), 0);
}

void TstPoolRouting::backendsResource()
{
    PoolEnv env(3, [](Config &c) { c.backends[1].tags = {u"fast"_s}; });
    QVERIFY(env.ok());
    for (int i = 0; i < 3; ++i) // read with the capabilities on connect
        QTRY_VERIFY_WITH_TIMEOUT(env.backend(u"gpu%1"_s.arg(i))->lastSystemStats().contains(u"devices"_s), 5000);
    HttpResult r = env.call("GET", u"/api/v1/backends"_s);
    QCOMPARE(r.status, 200);
    const QJsonArray list = r.json()[u"backends"_s].toArray();
    QCOMPARE(list.size(), 3);
    for (int i = 0; i < 3; ++i) {
        const QJsonObject b = list[i].toObject();
        QCOMPARE(b[u"name"_s].toString(), u"gpu%1"_s.arg(i));
        QCOMPARE(b[u"url"_s].toString(), env.fake(i).httpUrl().toString());
        QCOMPARE(b[u"state"_s].toString(), u"connected"_s);
        QCOMPARE(b[u"in_flight"_s].toInt(), 0);
        QCOMPARE(b[u"max_in_flight"_s].toInt(), 1);
        QVERIFY(b[u"node_count"_s].toInt() > 10);
        QCOMPARE(b[u"model_count"_s].toInt(), 3); // the fake's three checkpoints
        QVERIFY(b.contains(u"queue_length"_s) && b.contains(u"last_error"_s) && b.contains(u"since"_s));
        QVERIFY(b[u"system_stats"_s][u"devices"_s].isArray()); // the last /system_stats (GPU, VRAM)
    }
    QCOMPARE(list[1][u"tags"_s].toArray(), QJsonArray{u"fast"_s});
    r = env.call("GET", u"/api/v1/backends/gpu1"_s);
    QCOMPARE(r.json()[u"name"_s].toString(), u"gpu1"_s);
    r = env.call("GET", u"/api/v1/backends/nope"_s);
    QCOMPARE(r.status, 404);
    QCOMPARE(r.errorCode(), u"backend_not_found"_s);
    // /api/v1/system lists each backend's stats; "comfyui" stays the first one's.
    r = env.call("GET", u"/api/v1/system"_s);
    const QJsonArray system = r.json()[u"backends"_s].toArray();
    QCOMPARE(system.size(), 3);
    for (const QJsonValue &b : system)
        QVERIFY(b[u"system_stats"_s].toObject().contains(u"system"_s));
    QCOMPARE(r.json()[u"comfyui"_s][u"state"_s].toString(), u"connected"_s);
    QCOMPARE(env.call("GET", u"/api/v1/ready"_s).status, 200);
    // Every backend is a value of the metrics' backend label.
    const QByteArray metrics = env.call("GET", u"/metrics"_s).body;
    for (int i = 0; i < 3; ++i)
        QVERIFY2(metrics.contains(QByteArray("comfyrunner_comfyui_connected{backend=\"gpu") + QByteArray::number(i)
                                  + "\"} 1"),
                 metrics.constData());
    // A model added to a running ComfyUI: refresh makes it known, and jobs naming it are routed there.
    QCOMPARE(env.post(ckpt(u"new.safetensors"_s)).errorCode(), u"no_backend_can_run"_s);
    env.fake(2).setCheckpoints({u"new.safetensors"_s});
    QCOMPARE(env.call("POST", u"/api/v1/backends/gpu2/refresh"_s).status, 202);
    QTRY_COMPARE_WITH_TIMEOUT(env.backend(u"gpu2"_s)->models().value(u"checkpoints"_s).size(), 1, 5000);
    const QString id = env.submit(ckpt(u"new.safetensors"_s));
    QVERIFY(env.waitState(id, u"succeeded"_s));
    QCOMPARE(env.job(id)[u"backend"_s].toString(), u"gpu2"_s);
    QCOMPARE(env.call("POST", u"/api/v1/backends/nope/refresh"_s).errorCode(), u"backend_not_found"_s);
}

void TstPoolRouting::uploadsReachEveryBackend()
{
    PoolEnv env;
    QVERIFY(env.ok());
    const QByteArray png = QByteArray::fromBase64(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");
    const QByteArray body = "--b0undary\r\nContent-Disposition: form-data; name=\"image\"; filename=\"dot.png\"\r\n"
                            "Content-Type: image/png\r\n\r\n"
        + png + "\r\n--b0undary--\r\n";
    QNetworkAccessManager nam;
    QNetworkRequest req(QUrl(u"http://127.0.0.1:%1/api/v1/uploads"_s.arg(env.service().httpPort())));
    req.setHeader(QNetworkRequest::ContentTypeHeader, QByteArray("multipart/form-data; boundary=b0undary"));
    QNetworkReply *reply = nam.post(req, body);
    QTRY_VERIFY_WITH_TIMEOUT(reply->isFinished(), 10000);
    const HttpResult r = ApiTestEnv::collect(reply);
    reply->deleteLater();
    QCOMPARE(r.status, 201);
    QCOMPARE(r.json()[u"name"_s].toString(), u"dot.png"_s);
    const QJsonObject per = r.json()[u"backends"_s].toObject();
    QCOMPARE(per.size(), 3);
    for (int i = 0; i < 3; ++i) {
        QCOMPARE(per[u"gpu%1"_s.arg(i)].toString(), u"uploaded"_s);
        QCOMPARE(std::as_const(env.fake(i)).files().read(u"input"_s, QString(), u"dot.png"_s).value_or(QByteArray()),
                 png);
    }
}

void TstPoolRouting::relayedEventsNameTheirBackend()
{
    PoolEnv env;
    QVERIFY(env.ok());
    QList<RelayEventPtr> previews;
    QObject::connect(env.service().hub(), &EventHub::published, env.service().hub(),
                     [&previews](const RelayEventPtr &e) {
                         if (e->kind() == RelayEvent::Kind::Preview)
                             previews << e;
                     });
    const QString id = env.submit({{u"backend"_s, u"gpu1"_s}});
    QVERIFY(env.waitState(id, u"succeeded"_s));
    QVERIFY(!previews.isEmpty());
    for (const RelayEventPtr &p : std::as_const(previews)) {
        const auto preview = protocol::parseRelayPreview(p->type4Frame());
        QVERIFY(preview);
        QCOMPARE(preview->backend, u"gpu1"_s);
        QCOMPARE(preview->jobId, id);
    }
    const EventHub::JobLog log = env.service().hub()->jobEvents(id);
    QVERIFY(log.known);
    int fromComfy = 0;
    for (const RelayEventPtr &e : log.events) {
        const auto envelope = protocol::parseRelayEnvelope(e->envelopeBytes());
        QVERIFY(envelope);
        QCOMPARE(envelope->jobId, id);
        if (e->type().startsWith(u"job_"_s) || e->type() == u"image_generated"_s) {
            QVERIFY(envelope->backend.isEmpty()); // the service's own events come from no backend
        } else {
            QCOMPARE(envelope->backend, u"gpu1"_s);
            ++fromComfy;
        }
    }
    QVERIFY(fromComfy >= 3); // execution_start, executing..., execution_success
}

QTEST_GUILESS_MAIN(TstPoolRouting)
#include "tst_poolrouting.moc"
