// Webhooks through the whole service (fake ComfyUI, real Service, a local receiver on port 0): signed
// deliveries retried until the receiver answers (the signature checked independently on every attempt), a
// slow receiver cut off by the per-attempt timeout while the API keeps answering, 410 stopping the retries,
// refused URLs (link-local, metadata, other schemes, garbage) at submission and at delivery, the default url,
// redelivery, and a receiver that never answers costing at most [webhooks] concurrency attempts in memory.

#include "tests/webhooks/webhooktestenv.h"

#include "core/config/effectiveconfig.h"

#include <QJsonArray>
#include <QSignalSpy>
#include <QtTest>

using namespace cr;
using namespace cr::testing;
using namespace Qt::StringLiterals;

namespace {

QJsonObject webhookTo(const QUrl &url, const QStringList &events = {})
{
    QJsonObject w{{QStringLiteral("url"), url.toString()}};
    if (!events.isEmpty())
        w.insert(QStringLiteral("events"), QJsonArray::fromStringList(events));
    return {{QStringLiteral("webhook"), w}};
}

QJsonArray deliveriesOf(WebhookTestEnv &env, const QString &jobId)
{
    return env.job(jobId)
        .json()
        .value(QStringLiteral("webhook"))
        .toObject()
        .value(QStringLiteral("deliveries"))
        .toArray();
}

// A job as the dispatcher sees it, without running anything (the memory-window test needs hundreds).
Job syntheticJob(int n, const QUrl &url)
{
    Job job;
    job.id = QStringLiteral("synthetic-%1").arg(n);
    job.state = JobState::Succeeded;
    job.createdAt = job.startedAt = job.finishedAt = QDateTime::currentDateTimeUtc();
    job.webhook = JobWebhook{url.toString(), {QStringLiteral("job_finished")}};
    return job;
}

} // namespace

class TstWebhooks : public QObject
{
    Q_OBJECT

private slots:
    void failsThenSucceedsSignedEveryTime();
    void hostNameIsPinnedToTheCheckedAddress();
    void slowReceiverTimesOutWithoutSlowingTheApi();
    void goneStopsRetries();
    void hostileUrlsAreRefused_data();
    void hostileUrlsAreRefused();
    void allowHostsLetsALinkLocalReceiverThrough();
    void deliveryTimeRefusesAForbiddenAddress();
    void defaultUrlAndOptOut();
    void redeliverAndListing();
    void aSecretAddedByAReloadEnablesWebhooks();
    void receiverDownCostsABoundedWindow();
    void progressDeliveriesCoalesceWhileWaiting();
};

void TstWebhooks::failsThenSucceedsSignedEveryTime()
{
    WebhookReceiver receiver;
    QVERIFY(receiver.listen());
    receiver.setAnswer([](int index, const ReceivedRequest &) { return index < 2 ? 500 : 204; });
    WebhookTestEnv env([](Config &c) { c.webhooks.maxAttempts = 5; });
    QVERIFY(env.start());

    const QString id = env.submit(webhookTo(receiver.url()));
    QVERIFY(!id.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(receiver.requests().size(), 3, 10000);
    QSignalSpy attempts(&env.dispatcher(), &WebhookDispatcher::attemptFinished);
    QTRY_COMPARE_WITH_TIMEOUT(deliveriesOf(env, id).first().toObject().value(QStringLiteral("state")).toString(),
                              QStringLiteral("delivered"), 5000);

    const QByteArray deliveryId = receiver.requests().first().headers.value("webhook-id");
    QVERIFY(deliveryId.startsWith("msg_"));
    for (const ReceivedRequest &r : receiver.requests()) {
        QCOMPARE(r.method, QByteArray("POST"));
        QCOMPARE(r.path, QByteArray("/hook"));
        QCOMPARE(r.headers.value("content-type"), QByteArray("application/json"));
        QCOMPARE(r.headers.value("webhook-id"), deliveryId); // one delivery, the same id on every attempt
        const QString bad = WebhookTestEnv::verify(r);
        QVERIFY2(bad.isEmpty(), qPrintable(bad));
        QVERIFY(WebhookTestEnv::verify(r, QStringLiteral("whsec_") + QByteArray(32, 'k').toBase64()) != QString());
    }
    // The body: the event type and the job as GET /api/v1/jobs/{id} shows it.
    const QJsonObject body = QJsonDocument::fromJson(receiver.requests().last().body).object();
    QCOMPARE(body.value(QStringLiteral("type")).toString(), QStringLiteral("job_finished"));
    QJsonObject shown = env.job(id).json();
    const QJsonObject webhook = shown.take(QStringLiteral("webhook")).toObject();
    QCOMPARE(body.value(QStringLiteral("data")).toObject(), shown);
    QCOMPARE(webhook.value(QStringLiteral("url")).toString(), receiver.url().toString());

    const QJsonObject d = webhook.value(QStringLiteral("deliveries")).toArray().first().toObject();
    QCOMPARE(d.value(QStringLiteral("id")).toString(), QString::fromLatin1(deliveryId));
    QCOMPARE(d.value(QStringLiteral("event")).toString(), QStringLiteral("job_finished"));
    QCOMPARE(d.value(QStringLiteral("attempts")).toInt(), 3);
    QCOMPARE(d.value(QStringLiteral("max_attempts")).toInt(), 5);
    QCOMPARE(d.value(QStringLiteral("last_status")).toInt(), 204);
    QVERIFY(d.value(QStringLiteral("next_attempt_at")).isNull());
    QVERIFY(d.value(QStringLiteral("finished_at")).isString());

    const QByteArray metrics = env.call("GET", QStringLiteral("/metrics")).body;
    QVERIFY2(metrics.contains("comfyrunner_webhook_attempts_total{outcome=\"http_error\"} 2\n"), metrics.constData());
    QVERIFY(metrics.contains("comfyrunner_webhook_attempts_total{outcome=\"success\"} 1\n"));
    QVERIFY(metrics.contains("comfyrunner_webhook_deliveries_total{state=\"delivered\"} 1\n"));
    QVERIFY(metrics.contains("comfyrunner_webhook_deliveries_pending 0\n"));
}

void TstWebhooks::hostNameIsPinnedToTheCheckedAddress()
{
    // http://localhost:port/: the attempt connects to the address it checked (127.0.0.1, where the receiver
    // listens) and still names the host in the Host header, for receivers behind virtual hosts.
    WebhookReceiver receiver;
    QVERIFY(receiver.listen());
    WebhookTestEnv env;
    QVERIFY(env.start());
    QUrl url = receiver.url();
    url.setHost(QStringLiteral("localhost"));
    QVERIFY(!env.submit(webhookTo(url)).isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(receiver.requests().size(), 1, 10000);
    QCOMPARE(receiver.requests().first().headers.value("host"), "localhost:" + QByteArray::number(receiver.port()));
    QVERIFY(WebhookTestEnv::verify(receiver.requests().first()).isEmpty());
}

void TstWebhooks::slowReceiverTimesOutWithoutSlowingTheApi()
{
    WebhookReceiver receiver;
    QVERIFY(receiver.listen());
    receiver.setAnswer([](int index, const ReceivedRequest &) { return index == 0 ? 0 : 200; }); // 1st hangs
    WebhookTestEnv env([](Config &c) {
        c.webhooks.timeoutMs = 400;
        c.webhooks.maxAttempts = 3;
    });
    QVERIFY(env.start());
    QSignalSpy attempts(&env.dispatcher(), &WebhookDispatcher::attemptFinished);
    const QString id = env.submit(webhookTo(receiver.url()));
    QVERIFY(!id.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(receiver.heldCount(), 1, 10000);
    // While the attempt hangs, the API answers (and says the delivery is pending, in its first attempt).
    QCOMPARE(env.dispatcher().inFlight(), 1);
    const Http health = env.call("GET", QStringLiteral("/api/v1/health"));
    QCOMPARE(health.status, 200);
    const QJsonObject pending = deliveriesOf(env, id).first().toObject();
    QCOMPARE(pending.value(QStringLiteral("state")).toString(), QStringLiteral("pending"));
    QCOMPARE(pending.value(QStringLiteral("attempts")).toInt(), 1);
    QCOMPARE(pending.value(QStringLiteral("in_flight")).toBool(), true);
    QVERIFY(pending.value(QStringLiteral("next_attempt_at")).isNull());
    QCOMPARE(env.dispatcher().inFlight(), 1); // still hanging: the API did not wait for it

    QTRY_VERIFY_WITH_TIMEOUT(attempts.size() >= 2, 10000);
    const auto first = attempts.at(0).at(0).value<WebhookAttemptReport>();
    QCOMPARE(first.outcome.kind, AttemptOutcome::Kind::Timeout);
    QCOMPARE(first.state, QStringLiteral("pending"));
    const auto second = attempts.at(1).at(0).value<WebhookAttemptReport>();
    QCOMPARE(second.outcome.kind, AttemptOutcome::Kind::Success);
    QCOMPARE(second.attempt, 2);
    const QJsonObject d = deliveriesOf(env, id).first().toObject();
    QCOMPARE(d.value(QStringLiteral("state")).toString(), QStringLiteral("delivered"));
    QCOMPARE(d.value(QStringLiteral("attempts")).toInt(), 2);
    QCOMPARE(receiver.heldCount(), 0); // the hung connection was closed by the timeout
}

void TstWebhooks::goneStopsRetries()
{
    WebhookReceiver receiver;
    QVERIFY(receiver.listen());
    receiver.setAnswer([](int, const ReceivedRequest &) { return 410; });
    WebhookTestEnv env([](Config &c) { c.webhooks.maxAttempts = 8; });
    QVERIFY(env.start());
    QSignalSpy attempts(&env.dispatcher(), &WebhookDispatcher::attemptFinished);
    const QString id = env.submit(webhookTo(receiver.url()));
    QVERIFY(!id.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(attempts.size(), 1, 10000);
    const auto report = attempts.at(0).at(0).value<WebhookAttemptReport>();
    QCOMPARE(report.outcome.kind, AttemptOutcome::Kind::Gone);
    QCOMPARE(report.state, QStringLiteral("failed")); // not pending: nothing is left to retry
    const QJsonObject d = deliveriesOf(env, id).first().toObject();
    QCOMPARE(d.value(QStringLiteral("state")).toString(), QStringLiteral("failed"));
    QCOMPARE(d.value(QStringLiteral("attempts")).toInt(), 1);
    QCOMPARE(d.value(QStringLiteral("last_status")).toInt(), 410);
    QCOMPARE(d.value(QStringLiteral("in_flight")).toBool(), false);
    QVERIFY(d.value(QStringLiteral("next_attempt_at")).isNull());
    QCOMPARE(env.call("GET", QStringLiteral("/api/v1/webhooks/deliveries?state=pending")).json().value("total").toInt(),
             0);
    QCOMPARE(env.call("GET", QStringLiteral("/api/v1/webhooks/deliveries?state=failed")).json().value("total").toInt(),
             1);
    QCOMPARE(receiver.requests().size(), 1);
}

void TstWebhooks::hostileUrlsAreRefused_data()
{
    QTest::addColumn<QJsonValue>("webhook");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("code");
    auto url = [](const char *u) { return QJsonValue(QJsonObject{{QStringLiteral("url"), QLatin1String(u)}}); };
    QTest::newRow("metadata 169.254.169.254")
        << url("http://169.254.169.254/latest/meta-data/") << 422 << u"webhook_url_forbidden"_s;
    QTest::newRow("link-local v4") << url("https://169.254.10.1:8443/hook") << 422 << u"webhook_url_forbidden"_s;
    QTest::newRow("link-local v6") << url("http://[fe80::1]/hook") << 422 << u"webhook_url_forbidden"_s;
    QTest::newRow("alibaba metadata") << url("http://100.100.100.200/") << 422 << u"webhook_url_forbidden"_s;
    QTest::newRow("aws v6 metadata") << url("http://[fd00:ec2::254]/") << 422 << u"webhook_url_forbidden"_s;
    QTest::newRow("v4-mapped metadata") << url("http://[::ffff:169.254.169.254]/") << 422 << u"webhook_url_forbidden"_s;
    // Other spellings of 169.254.169.254: refused whether URL parsing or the resolver turns them into it.
    QTest::newRow("decimal metadata") << url("http://2852039166/") << 422 << u"webhook_url_forbidden"_s;
    QTest::newRow("octal metadata") << url("http://0251.0376.0251.0376/") << 422 << u"webhook_url_forbidden"_s;
    QTest::newRow("hex metadata") << url("http://0xa9fea9fe/") << 422 << u"webhook_url_forbidden"_s;
    QTest::newRow("any address") << url("http://0.0.0.0:9/") << 422 << u"webhook_url_forbidden"_s;
    // IPv6 spellings that carry 169.254.169.254 in their low 32 bits: IPv4-compatible, NAT64 (RFC 6052), SIIT.
    QTest::newRow("v4-compatible metadata") << url("http://[::169.254.169.254]/") << 422 << u"webhook_url_forbidden"_s;
    QTest::newRow("nat64 metadata") << url("http://[64:ff9b::169.254.169.254]/") << 422 << u"webhook_url_forbidden"_s;
    QTest::newRow("v4-translated metadata")
        << url("http://[::ffff:0:169.254.169.254]/") << 422 << u"webhook_url_forbidden"_s;
    QTest::newRow("port 0") << url("http://127.0.0.1:0/hook") << 400 << u"invalid_field"_s;
    QTest::newRow("port 65536") << url("http://127.0.0.1:65536/hook") << 400 << u"invalid_field"_s;
    QTest::newRow("ftp") << url("ftp://example.com/hook") << 400 << u"invalid_field"_s;
    QTest::newRow("file") << url("file:///etc/passwd") << 400 << u"invalid_field"_s;
    QTest::newRow("javascript") << url("javascript:alert(1)") << 400 << u"invalid_field"_s;
    QTest::newRow("gopher") << url("gopher://127.0.0.1:6379/_FLUSHALL") << 400 << u"invalid_field"_s;
    QTest::newRow("garbage") << url("::not a url::") << 400 << u"invalid_field"_s;
    QTest::newRow("no host") << url("http:///hook") << 400 << u"invalid_field"_s;
    QTest::newRow("fragment") << url("http://127.0.0.1:9/a#b") << 400 << u"invalid_field"_s;
    QTest::newRow("empty url") << url("") << 400 << u"missing_field"_s;
    QTest::newRow("url not a string") << QJsonValue(QJsonObject{{QStringLiteral("url"), 5}}) << 400
                                      << u"missing_field"_s;
    QTest::newRow("a bare string") << QJsonValue(QStringLiteral("http://127.0.0.1:9/")) << 400 << u"type_mismatch"_s;
    QTest::newRow("unknown event") << QJsonValue(
        QJsonObject{{QStringLiteral("url"), QStringLiteral("http://127.0.0.1:9/")},
                    {QStringLiteral("events"), QJsonArray{QStringLiteral("job_exploded")}}})
                                   << 400 << u"invalid_field"_s;
    QTest::newRow("no events") << QJsonValue(QJsonObject{{QStringLiteral("url"), QStringLiteral("http://127.0.0.1:9/")},
                                                         {QStringLiteral("events"), QJsonArray{}}})
                               << 400 << u"invalid_field"_s;
    QTest::newRow("events not strings") << QJsonValue(QJsonObject{
        {QStringLiteral("url"), QStringLiteral("http://127.0.0.1:9/")}, {QStringLiteral("events"), QJsonArray{1}}})
                                        << 400 << u"type_mismatch"_s;
}

void TstWebhooks::hostileUrlsAreRefused()
{
    QFETCH(QJsonValue, webhook);
    QFETCH(int, status);
    QFETCH(QString, code);
    WebhookTestEnv env;
    QVERIFY(env.start());
    Http answer;
    QVERIFY(env.submit({{QStringLiteral("webhook"), webhook}}, &answer).isEmpty());
    QCOMPARE(answer.status, status);
    QCOMPARE(answer.errorCode(), code);
    QCOMPARE(env.call("GET", QStringLiteral("/api/v1/jobs")).json().value(QStringLiteral("total")).toInt(), 0);
    QCOMPARE(env.fake().promptCount(), 0);
}

void TstWebhooks::allowHostsLetsALinkLocalReceiverThrough()
{
    WebhookTestEnv env([](Config &c) { c.webhooks.allowHosts = {QStringLiteral("169.254.0.0/16")}; });
    QVERIFY(env.start());
    Http answer;
    QVERIFY(!env.submit(webhookTo(QUrl(QStringLiteral("http://169.254.169.254/hook"))), &answer).isEmpty());
    QCOMPARE(answer.status, 202);
    QVERIFY(env.submit(webhookTo(QUrl(QStringLiteral("http://[fe80::1]/hook"))), &answer).isEmpty());
    QCOMPARE(answer.errorCode(), QStringLiteral("webhook_url_forbidden")); // only the subnet that was named
}

void TstWebhooks::deliveryTimeRefusesAForbiddenAddress()
{
    // A delivery whose URL was accepted once (the allow list has changed since, or DNS did) is refused at the
    // attempt, not sent: it fails at once, without retries.
    WebhookTestEnv env;
    QVERIFY(env.start());
    QSignalSpy attempts(&env.dispatcher(), &WebhookDispatcher::attemptFinished);
    QVERIFY(
        !env.dispatcher()
             .enqueue(syntheticJob(1, QUrl(QStringLiteral("http://169.254.169.254/x"))), QStringLiteral("job_finished"))
             .isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(attempts.size(), 1, 5000);
    const auto report = attempts.at(0).at(0).value<WebhookAttemptReport>();
    QCOMPARE(report.outcome.kind, AttemptOutcome::Kind::Forbidden);
    QCOMPARE(report.state, QStringLiteral("failed"));
    QVERIFY(report.outcome.error.contains(QStringLiteral("169.254.169.254")));
}

void TstWebhooks::defaultUrlAndOptOut()
{
    WebhookReceiver receiver;
    QVERIFY(receiver.listen());
    WebhookTestEnv env([&receiver](Config &c) {
        c.webhooks.url = receiver.url(QStringLiteral("/default"));
        c.webhooks.events = {QStringLiteral("job_started"), QStringLiteral("job_finished")};
    });
    QVERIFY(env.start());
    const QString withDefault = env.submit({});
    const QString optedOut = env.submit({{QStringLiteral("webhook"), false}});
    QVERIFY(!withDefault.isEmpty() && !optedOut.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(receiver.requests().size(), 2, 10000);
    QStringList types;
    for (const ReceivedRequest &r : receiver.requests()) {
        QCOMPARE(r.path, QByteArray("/default"));
        const QJsonObject body = QJsonDocument::fromJson(r.body).object();
        QCOMPARE(body.value(QStringLiteral("data")).toObject().value(QStringLiteral("id")).toString(), withDefault);
        types << body.value(QStringLiteral("type")).toString();
    }
    types.sort();
    QCOMPARE(types, (QStringList{QStringLiteral("job_finished"), QStringLiteral("job_started")}));
    QTRY_COMPARE_WITH_TIMEOUT(env.job(optedOut).json().value(QStringLiteral("state")).toString(),
                              QStringLiteral("succeeded"), 10000);
    QVERIFY(!env.job(optedOut).json().contains(QStringLiteral("webhook")));
    QCOMPARE(
        env.call("GET", QStringLiteral("/api/v1/webhooks/deliveries?job_id=") + optedOut).json().value("total").toInt(),
        0);
}

void TstWebhooks::redeliverAndListing()
{
    WebhookReceiver receiver;
    QVERIFY(receiver.listen());
    bool gone = true;
    receiver.setAnswer([&gone](int, const ReceivedRequest &) { return gone ? 410 : 200; });
    WebhookTestEnv env([](Config &c) { c.webhooks.maxAttempts = 3; });
    QVERIFY(env.start());
    QSignalSpy attempts(&env.dispatcher(), &WebhookDispatcher::attemptFinished);
    const QString id = env.submit(webhookTo(receiver.url()));
    QTRY_COMPARE_WITH_TIMEOUT(attempts.size(), 1, 10000);
    const QString deliveryId = attempts.at(0).at(0).value<WebhookAttemptReport>().deliveryId;

    gone = false;
    const Http again = env.call("POST", QStringLiteral("/api/v1/webhooks/deliveries/%1/redeliver").arg(deliveryId));
    QCOMPARE(again.status, 202);
    QCOMPARE(again.json().value(QStringLiteral("max_attempts")).toInt(), 1 + 3); // a new round
    QTRY_COMPARE_WITH_TIMEOUT(attempts.size(), 2, 10000);
    const Http one = env.call("GET", QStringLiteral("/api/v1/webhooks/deliveries/") + deliveryId);
    QCOMPARE(one.json().value(QStringLiteral("state")).toString(), QStringLiteral("delivered"));
    QCOMPARE(one.json().value(QStringLiteral("attempts")).toInt(), 2);
    QCOMPARE(receiver.requests().at(1).headers.value("webhook-id"), deliveryId.toLatin1());

    const QJsonObject list
        = env.call("GET", QStringLiteral("/api/v1/webhooks/deliveries?state=delivered&limit=1")).json();
    QCOMPARE(list.value(QStringLiteral("total")).toInt(), 1);
    QCOMPARE(list.value(QStringLiteral("limit")).toInt(), 1);
    QCOMPARE(list.value(QStringLiteral("deliveries")).toArray().first().toObject().value("job_id").toString(), id);

    QCOMPARE(env.call("POST", QStringLiteral("/api/v1/webhooks/deliveries/msg_nope/redeliver")).errorCode(),
             QStringLiteral("delivery_not_found"));
    QCOMPARE(env.call("GET", QStringLiteral("/api/v1/webhooks/deliveries/msg_nope")).status, 404);
    const Http badState = env.call("GET", QStringLiteral("/api/v1/webhooks/deliveries?state=lost"));
    QCOMPARE(badState.status, 400);
    QCOMPARE(badState.errorCode(), QStringLiteral("invalid_request"));
    QCOMPARE(env.call("GET", QStringLiteral("/api/v1/webhooks/deliveries?limit=0")).status, 400);
}

void TstWebhooks::aSecretAddedByAReloadEnablesWebhooks()
{
    WebhookReceiver receiver;
    QVERIFY(receiver.listen());
    WebhookTestEnv env([](Config &c) { c.webhooks.secret.clear(); });
    QVERIFY(env.start());
    Http answer;
    QVERIFY(env.submit(webhookTo(receiver.url()), &answer).isEmpty());
    QCOMPARE(answer.status, 422);
    QCOMPARE(answer.errorCode(), QStringLiteral("webhooks_not_configured"));
    QCOMPARE(env.fake().promptCount(), 0); // refused before anything ran

    // SIGHUP with a secret (and a default url): applied live, for the next job and its deliveries.
    Config next = env.service().config();
    next.webhooks.secret = QLatin1String(kTestSecret);
    next.webhooks.url = receiver.url(QStringLiteral("/default"));
    EffectiveConfig loaded;
    loaded.config = next;
    env.service().reload(loaded);
    const QString id = env.submit(webhookTo(receiver.url()));
    QVERIFY(!id.isEmpty());
    const QString byDefault = env.submit({});
    QVERIFY(!byDefault.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(receiver.requests().size(), 2, 10000);
    QStringList paths;
    for (const ReceivedRequest &r : receiver.requests()) {
        QVERIFY(WebhookTestEnv::verify(r).isEmpty());
        paths << QString::fromLatin1(r.path);
    }
    paths.sort();
    QCOMPARE(paths, (QStringList{QStringLiteral("/default"), QStringLiteral("/hook")}));
}

void TstWebhooks::receiverDownCostsABoundedWindow()
{
    // A receiver that accepts and never answers: every attempt hangs until its timeout. 400 deliveries wait
    // on disk; at most `concurrency` attempts (and nothing else of them) are in memory.
    WebhookReceiver receiver;
    QVERIFY(receiver.listen());
    receiver.setAnswer([](int, const ReceivedRequest &) { return 0; });
    WebhookTestEnv env([](Config &c) {
        c.webhooks.concurrency = 3;
        c.webhooks.timeoutMs = 60'000;
    });
    QVERIFY(env.start());
    for (int i = 0; i < 400; ++i)
        QVERIFY(!env.dispatcher().enqueue(syntheticJob(i, receiver.url()), QStringLiteral("job_finished")).isEmpty());
    const QString real = env.submit(webhookTo(receiver.url()));
    QVERIFY(!real.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(env.job(real).json().value(QStringLiteral("state")).toString(),
                              QStringLiteral("succeeded"), 10000);
    QTRY_COMPARE_WITH_TIMEOUT(receiver.heldCount(), 3, 10000);
    QCOMPARE(env.dispatcher().inFlight(), 3);
    QCOMPARE(env.dispatcher().peakInFlight(), 3);
    const QJsonObject pending = env.call("GET", QStringLiteral("/api/v1/webhooks/deliveries?state=pending")).json();
    QCOMPARE(pending.value(QStringLiteral("total")).toInt(), 401);
    QCOMPARE(receiver.requests().size(), 3); // nothing else was sent, nothing else is held
    QVERIFY(env.call("GET", QStringLiteral("/metrics")).body.contains("comfyrunner_webhook_deliveries_pending 401\n"));
    QVERIFY(env.call("GET", QStringLiteral("/metrics")).body.contains("comfyrunner_webhook_attempts_in_flight 3\n"));
}

void TstWebhooks::progressDeliveriesCoalesceWhileWaiting()
{
    WebhookReceiver receiver;
    QVERIFY(receiver.listen());
    receiver.setAnswer([](int, const ReceivedRequest &) { return 0; }); // hangs: the first delivery stays in flight
    WebhookTestEnv env([](Config &c) {
        c.webhooks.concurrency = 1;
        c.webhooks.timeoutMs = 60'000;
    });
    env.fake().setSteps(12);
    QVERIFY(env.start());
    int progressEvents = 0;
    connect(env.service().jobs(), &JobManager::jobProgress, this, [&progressEvents] { ++progressEvents; });
    const QString id = env.submit(webhookTo(receiver.url(), {QStringLiteral("job_progress")}));
    QVERIFY(!id.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(env.job(id).json().value(QStringLiteral("state")).toString(), QStringLiteral("succeeded"),
                              10000);
    QVERIFY2(progressEvents >= 10, qPrintable(QString::number(progressEvents)));
    // One in flight and one waiting that holds the newest step, not one row per step.
    const QJsonArray deliveries = deliveriesOf(env, id);
    QCOMPARE(deliveries.size(), 2);
    const auto waiting = env.dispatcher().find(deliveries.at(1).toObject().value("id").toString());
    QVERIFY(waiting);
    QCOMPARE(waiting->attempts, 0);
}

QTEST_GUILESS_MAIN(TstWebhooks)
#include "tst_webhooks.moc"
