// The service's own relay events (protocol/serviceevents.h): the exact bytes of each type (those the relay,
// the SSE stream and the job event logs have always sent), the parser the monitor uses, and isFinal. No sockets.

#include "protocol/serviceevents.h"

#include <QTest>

using namespace Qt::StringLiterals;
using namespace cr::protocol;

Q_DECLARE_METATYPE(cr::protocol::ServiceEvent)

namespace {

JobRecord succeededJob()
{
    JobRecord r;
    r.id = u"j1"_s;
    r.workflow = u"sd15"_s;
    r.state = JobState::Succeeded;
    r.createdAt = QDateTime(QDate(2024, 5, 1), QTime(12, 0, 0, 0), Qt::UTC);
    r.startedAt = r.createdAt;
    r.finishedAt = r.createdAt.addMSecs(1500);
    r.durationMs = 1500;
    r.outputs = {{0, u"9"_s, u"a.png"_s, u""_s, u"output"_s, u"images"_s, u"/api/v1/jobs/j1/outputs/0"_s, u"image"_s,
                  u"image/png"_s, QString()}};
    return r;
}

} // namespace

class TstServiceEvents : public QObject
{
    Q_OBJECT

private slots:
    void typeNames();
    void wireBytes_data();
    void wireBytes();
    void endedFollowsTheState();
    void parsesLeniently();
    void ignoresComfyEvents();
};

void TstServiceEvents::typeNames()
{
    const QStringList names = {u"job_queued"_s, u"job_started"_s,   u"job_progress"_s,   u"job_finished"_s,
                               u"job_failed"_s, u"job_cancelled"_s, u"image_generated"_s};
    for (const QString &name : names) {
        const auto type = serviceEventTypeFromName(name);
        QVERIFY2(type, qPrintable(name));
        QCOMPARE(serviceEventTypeName(*type), name);
        const bool final = name == u"job_finished"_s || name == u"job_failed"_s || name == u"job_cancelled"_s;
        QCOMPARE(isFinal(*type), final);
        QCOMPARE(isFinalServiceEvent(name), final);
    }
    QVERIFY(!serviceEventTypeFromName(u"progress"_s));
    QVERIFY(!serviceEventTypeFromName(u"job_paused"_s));
    QVERIFY(!isFinalServiceEvent(u"execution_success"_s));
}

void TstServiceEvents::wireBytes_data()
{
    QTest::addColumn<ServiceEvent>("event");
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("promptId");
    QTest::newRow("job_queued")
        << ServiceEvent::of(ServiceEventType::JobQueued, JobQueuedEvent{u"j1"_s, u"j1"_s, u"sd15"_s})
        << QByteArray(
               R"({"type":"job_queued","data":{"eta_ms":null,"job_id":"j1","prompt_id":"j1","workflow":"sd15"}})")
        << u"j1"_s;
    QTest::newRow("job_queued with eta")
        << ServiceEvent::of(ServiceEventType::JobQueued, JobQueuedEvent{u"j1"_s, u"j1"_s, u"sd15"_s, 61250})
        << QByteArray(
               R"({"type":"job_queued","data":{"eta_ms":61250,"job_id":"j1","prompt_id":"j1","workflow":"sd15"}})")
        << u"j1"_s;
    QTest::newRow("job_started") << ServiceEvent::of(ServiceEventType::JobStarted, JobStartedEvent{u"j1"_s, u"j1"_s})
                                 << QByteArray(R"({"type":"job_started","data":{"job_id":"j1","prompt_id":"j1"}})")
                                 << u"j1"_s;
    QTest::newRow("job_progress")
        << ServiceEvent::of(ServiceEventType::JobProgress, JobProgressEvent{u"j1"_s, u"3"_s, u"KSampler"_s, 4, 20})
        << QByteArray(
               R"({"type":"job_progress","data":{"class_type":"KSampler","eta_ms":null,"job_id":"j1","max":20,"node":"3","value":4}})")
        << QString();
    QTest::newRow("job_progress with eta")
        << ServiceEvent::of(ServiceEventType::JobProgress,
                            JobProgressEvent{u"j1"_s, u"3"_s, u"KSampler"_s, 4, 20, 1500})
        << QByteArray(
               R"({"type":"job_progress","data":{"class_type":"KSampler","eta_ms":1500,"job_id":"j1","max":20,"node":"3","value":4}})")
        << QString();
    QTest::newRow("job_finished")
        << ServiceEvent::ended(succeededJob())
        << QByteArray(
               R"({"type":"job_finished","data":{"attempts":[],"backend":null,"cancel_requested":false,"client_ref":null,)"
               R"("created_at":"2024-05-01T12:00:00.000Z",)"
               R"("duration_ms":1500,"error":null,"eta_ms":null,"finished_at":"2024-05-01T12:00:01.500Z","id":"j1","job_id":"j1",)"
               R"("live_url":null,"node":null,"outputs":[{"content_type":"image/png","filename":"a.png","index":0,"kind":"images","media":"image","node_id":"9",)"
               R"("subfolder":"","text":null,"type":"output",)"
               R"("url":"/api/v1/jobs/j1/outputs/0"}],"priority":0,"progress":null,"queue_position":null,"reason":null,)"
               R"("started_at":"2024-05-01T12:00:00.000Z",)"
               R"("state":"succeeded","workflow":"sd15"}})")
        << QString();
    QTest::newRow("image_generated")
        << ServiceEvent::of(ServiceEventType::ImageGenerated,
                            ImageGeneratedEvent{u"Workflow completed successfully"_s,
                                                u"j1"_s,
                                                u"j1"_s,
                                                u"a.png"_s,
                                                u"http://h:8189/api/v1/jobs/j1/outputs/0"_s,
                                                {u"http://h:8189/api/v1/jobs/j1/outputs/0"_s}})
        << QByteArray(
               R"({"STATUS":"Workflow completed successfully","image_filename":"a.png",)"
               R"("image_url":"http://h:8189/api/v1/jobs/j1/outputs/0","images":["http://h:8189/api/v1/jobs/j1/outputs/0"],)"
               R"("job_id":"j1","prompt_id":"j1","type":"image_generated"})")
        << u"j1"_s;
}

// Encoding gives the documented bytes; parsing those bytes (as the monitor does) gives the event back.
void TstServiceEvents::wireBytes()
{
    QFETCH(ServiceEvent, event);
    QFETCH(QByteArray, bytes);
    QFETCH(QString, promptId);
    QCOMPARE(encodeServiceEvent(event), bytes);
    QCOMPARE(event.jobId(), u"j1"_s);
    QCOMPARE(event.promptId(), promptId);
    const std::optional<ComfyEvent> frame = parseTextFrame(bytes);
    QVERIFY(frame);
    QCOMPARE(frame->type, EventType::Unknown);
    const std::optional<ServiceEvent> back = parseServiceEvent(*frame);
    QVERIFY(back);
    QCOMPARE(*back, event);
}

void TstServiceEvents::endedFollowsTheState()
{
    JobRecord job = succeededJob();
    QCOMPARE(ServiceEvent::ended(job).type, ServiceEventType::JobFinished);
    job.state = JobState::Cancelled;
    QCOMPARE(ServiceEvent::ended(job).type, ServiceEventType::JobCancelled);
    for (JobState s : {JobState::Failed, JobState::Lost}) {
        job.state = s;
        QCOMPARE(ServiceEvent::ended(job).typeName(), u"job_failed"_s);
    }
}

void TstServiceEvents::parsesLeniently()
{
    // A final event whose data is no job record (hand-made, older runner): the job id still comes through.
    const auto bare = parseServiceEvent(parseTextFrame(R"({"type": "job_finished", "data": {"job_id": "A"}})").value());
    QVERIFY(bare);
    QCOMPARE(bare->jobId(), u"A"_s);
    QCOMPARE(bare->as<JobEndedEvent>()->job.state, JobState::Unknown);
    const auto progress
        = parseServiceEvent(parseTextFrame(R"({"type": "job_progress", "data": {"job_id": "B", "node": 3}})").value());
    QVERIFY(progress);
    QCOMPARE(progress->as<JobProgressEvent>()->node, u"3"_s);
    QCOMPARE(progress->as<JobProgressEvent>()->max, 0.0);
}

void TstServiceEvents::ignoresComfyEvents()
{
    QVERIFY(!parseServiceEvent(parseTextFrame(R"({"type": "progress", "data": {"value": 1, "max": 2}})").value()));
    QVERIFY(!parseServiceEvent(parseTextFrame(R"({"type": "job_paused", "data": {"job_id": "A"}})").value()));
}

QTEST_GUILESS_MAIN(TstServiceEvents)
#include "tst_serviceevents.moc"
