// Durable webhooks across a restart: a delivery is in the job store before its first attempt; one left
// pending when the service stops (the receiver was down) is sent by the next service on the same data
// folder, as the same delivery (same webhook-id, attempts counted on), and a job that finishes after the
// restart still gets its webhook (the job's own webhook is stored with the job).

#include "tests/webhooks/webhooktestenv.h"

#include <QJsonArray>
#include <QSignalSpy>
#include <QtTest>

using namespace cr;
using namespace cr::testing;

class TstWebhookRestart : public QObject
{
    Q_OBJECT

private slots:
    void pendingDeliveryIsSentAfterRestart();
    void jobFinishingAfterRestartStillDelivers();
    void endedDeliveriesOfPrunedJobsGoAtStart();
};

void TstWebhookRestart::pendingDeliveryIsSentAfterRestart()
{
    WebhookReceiver receiver;
    QVERIFY(receiver.listen());
    bool down = true;
    int pendingAtFirstRequest = -1;
    WebhookTestEnv env([](Config &c) {
        c.webhooks.retryDelayMs = 600; // the retry falls due after the restart
        c.webhooks.retryMaxDelayMs = 600;
    });
    receiver.setAnswer([&](int, const ReceivedRequest &) {
        if (pendingAtFirstRequest < 0) // the row exists (and counts this attempt) before anything was sent
            pendingAtFirstRequest = env.dispatcher().list({QStringLiteral("pending"), {}, 0, 10}).total;
        return down ? 503 : 200;
    });
    QVERIFY(env.start());
    QSignalSpy attempts(&env.dispatcher(), &WebhookDispatcher::attemptFinished);
    const QString id
        = env.submit({{QStringLiteral("webhook"), QJsonObject{{QStringLiteral("url"), receiver.url().toString()}}}});
    QVERIFY(!id.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(attempts.size(), 1, 10000);
    QCOMPARE(pendingAtFirstRequest, 1);
    const auto first = attempts.at(0).at(0).value<WebhookAttemptReport>();
    QCOMPARE(first.state, QStringLiteral("pending"));
    QCOMPARE(first.outcome.status, 503);
    env.stop(); // before the retry is due

    down = false;
    QVERIFY(env.start());
    QSignalSpy after(&env.dispatcher(), &WebhookDispatcher::attemptFinished);
    QTRY_COMPARE_WITH_TIMEOUT(after.size(), 1, 10000);
    const auto second = after.at(0).at(0).value<WebhookAttemptReport>();
    QCOMPARE(second.deliveryId, first.deliveryId);
    QCOMPARE(second.attempt, 2);
    QCOMPARE(second.state, QStringLiteral("delivered"));
    QCOMPARE(receiver.requests().size(), 2);
    QCOMPARE(receiver.requests().at(0).headers.value("webhook-id"),
             receiver.requests().at(1).headers.value("webhook-id"));
    QCOMPARE(receiver.requests().at(0).body, receiver.requests().at(1).body); // the stored bytes, signed again
    for (const ReceivedRequest &r : receiver.requests())
        QVERIFY2(WebhookTestEnv::verify(r).isEmpty(), qPrintable(WebhookTestEnv::verify(r)));
    const QJsonArray all
        = env.job(id).json().value(QStringLiteral("webhook")).toObject().value(QStringLiteral("deliveries")).toArray();
    QCOMPARE(all.size(), 1); // the restored (finished) job is not announced again
    const QJsonObject d = all.first().toObject();
    QCOMPARE(d.value(QStringLiteral("state")).toString(), QStringLiteral("delivered"));
    QCOMPARE(d.value(QStringLiteral("attempts")).toInt(), 2);
}

void TstWebhookRestart::jobFinishingAfterRestartStillDelivers()
{
    WebhookReceiver receiver;
    QVERIFY(receiver.listen());
    WebhookTestEnv env;
    QVERIFY(env.start());
    env.fake().setStepIntervalMs(50);
    env.fake().setSteps(40);
    const QString id
        = env.submit({{QStringLiteral("webhook"), QJsonObject{{QStringLiteral("url"), receiver.url().toString()}}}});
    QVERIFY(!id.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(env.job(id).json().value(QStringLiteral("state")).toString(), QStringLiteral("running"),
                              10000);
    env.stop(); // mid-run; ComfyUI goes on with the prompt
    QVERIFY(env.start());
    QTRY_COMPARE_WITH_TIMEOUT(receiver.requests().size(), 1, 15000);
    const QJsonObject body = QJsonDocument::fromJson(receiver.requests().first().body).object();
    QCOMPARE(body.value(QStringLiteral("type")).toString(), QStringLiteral("job_finished"));
    QCOMPARE(body.value(QStringLiteral("data")).toObject().value(QStringLiteral("id")).toString(), id);
    QVERIFY(WebhookTestEnv::verify(receiver.requests().first()).isEmpty());
}

void TstWebhookRestart::endedDeliveriesOfPrunedJobsGoAtStart()
{
    // A delivery that was still pending when its job was pruned outlives the job; once it ended, the next
    // start removes it. One of a job the store still has stays.
    WebhookReceiver receiver;
    QVERIFY(receiver.listen());
    receiver.setAnswer([](int, const ReceivedRequest &) { return 410; });
    WebhookTestEnv env;
    QVERIFY(env.start());
    QSignalSpy attempts(&env.dispatcher(), &WebhookDispatcher::attemptFinished);
    const QString kept
        = env.submit({{QStringLiteral("webhook"), QJsonObject{{QStringLiteral("url"), receiver.url().toString()}}}});
    QVERIFY(!kept.isEmpty());
    Job gone;
    gone.id = QStringLiteral("pruned-job");
    gone.state = JobState::Failed;
    gone.webhook = JobWebhook{receiver.url().toString(), {QStringLiteral("job_failed")}};
    QVERIFY(!env.dispatcher().enqueue(gone, QStringLiteral("job_failed")).isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(attempts.size(), 2, 10000);
    QCOMPARE(env.dispatcher().list({QStringLiteral("failed"), {}, 0, 10}).total, 2);
    env.stop();
    QVERIFY(env.start());
    const DeliveryPage left = env.dispatcher().list({QStringLiteral("failed"), {}, 0, 10});
    QCOMPARE(left.total, 1);
    QCOMPARE(left.deliveries.first().jobId, kept);
}

QTEST_GUILESS_MAIN(TstWebhookRestart)
#include "tst_webhookrestart.moc"
