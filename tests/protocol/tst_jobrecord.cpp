// The job wire model (protocol/jobrecord.h): state names, the exact JSON of a job, and the round trip
// encodeJob -> parseJob. No sockets.

#include "protocol/jobrecord.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace cr::protocol;

namespace {

JobRecord fullRecord()
{
    JobRecord r;
    r.id = u"p-1"_s;
    r.clientRef = u"ref-7"_s;
    r.workflow = u"sd15"_s;
    r.state = JobState::Failed;
    r.createdAt = QDateTime(QDate(2024, 5, 1), QTime(12, 0, 0, 123), Qt::UTC);
    r.startedAt = r.createdAt.addMSecs(10);
    r.finishedAt = r.createdAt.addMSecs(2060);
    r.durationMs = 2050;
    r.progressNode = u"3"_s;
    r.progressClass = u"KSampler"_s;
    r.progressValue = 4;
    r.progressMax = 20;
    r.outputs = {{0, u"9"_s, u"a.png"_s, u""_s, u"output"_s, u"images"_s, u"/api/v1/jobs/p-1/outputs/0"_s}};
    r.error = JobError{u"boom"_s, u"4"_s, u"CheckpointLoaderSimple"_s, u"FileNotFoundError"_s};
    r.reason = u"comfy_error"_s;
    r.cancelRequested = true;
    r.backend = u"gpu1"_s;
    r.priority = 3;
    r.attempts
        = {{u"gpu0"_s, u"p-1"_s, r.createdAt, r.startedAt, r.createdAt.addMSecs(500), u"backend_lost"_s, u"gone"_s},
           {u"gpu1"_s, u"p-2"_s, r.createdAt.addMSecs(600), QDateTime(), r.finishedAt, u"failed"_s, QString()}};
    return r;
}

QByteArray compact(const QJsonObject &o) { return QJsonDocument(o).toJson(QJsonDocument::Compact); }

} // namespace

class TstJobRecord : public QObject
{
    Q_OBJECT

private slots:
    void stateNames_data();
    void stateNames();
    void encodesTheApiShape();
    void encodesNulls();
    void roundTrip();
    void parsesLeniently();
};

void TstJobRecord::stateNames_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<int>("state");
    QTest::addColumn<bool>("final");
    QTest::newRow("queued") << u"queued"_s << int(JobState::Queued) << false;
    QTest::newRow("running") << u"running"_s << int(JobState::Running) << false;
    QTest::newRow("succeeded") << u"succeeded"_s << int(JobState::Succeeded) << true;
    QTest::newRow("failed") << u"failed"_s << int(JobState::Failed) << true;
    QTest::newRow("cancelled") << u"cancelled"_s << int(JobState::Cancelled) << true;
    QTest::newRow("lost") << u"lost"_s << int(JobState::Lost) << true;
    QTest::newRow("unknown") << u"paused"_s << int(JobState::Unknown) << false;
}

void TstJobRecord::stateNames()
{
    QFETCH(QString, name);
    QFETCH(int, state);
    QFETCH(bool, final);
    QCOMPARE(int(jobStateFromName(name)), state);
    QCOMPARE(isFinal(JobState(state)), final);
    if (JobState(state) != JobState::Unknown) {
        QCOMPARE(jobStateName(JobState(state)), name);
        QVERIFY(jobStateNames().contains(name));
    } else {
        QCOMPARE(jobStateName(JobState::Unknown), u"unknown"_s);
        QVERIFY(!jobStateNames().contains(u"unknown"_s));
    }
    QCOMPARE(jobStateNames().size(), 6);
}

// The bytes GET /api/v1/jobs/{id} sends for such a job (keys sorted by QJsonObject): what it has always sent,
// plus the outputs' media/content_type/text and eta_ms (#16), node and live_url (#14: null outside a cluster).
void TstJobRecord::encodesTheApiShape()
{
    QCOMPARE(
        compact(encodeJob(fullRecord())),
        QByteArray(
            R"({"attempts":[{"backend":"gpu0","finished_at":"2024-05-01T12:00:00.623Z","outcome":"backend_lost",)"
            R"("prompt_id":"p-1","reason":"gone","started_at":"2024-05-01T12:00:00.133Z",)"
            R"("submitted_at":"2024-05-01T12:00:00.123Z"},{"backend":"gpu1","finished_at":"2024-05-01T12:00:02.183Z",)"
            R"("outcome":"failed","prompt_id":"p-2","reason":null,"started_at":null,)"
            R"("submitted_at":"2024-05-01T12:00:00.723Z"}],"backend":"gpu1",)"
            R"("cancel_requested":true,"client_ref":"ref-7","created_at":"2024-05-01T12:00:00.123Z",)"
            R"("duration_ms":2050,"error":{"exception_type":"FileNotFoundError","message":"boom","node_id":"4",)"
            R"("node_type":"CheckpointLoaderSimple"},"eta_ms":null,"finished_at":"2024-05-01T12:00:02.183Z","id":"p-1",)"
            R"("live_url":null,"node":null,)"
            R"("outputs":[{"content_type":null,"filename":"a.png","index":0,"kind":"images","media":null,"node_id":"9",)"
            R"("subfolder":"","text":null,"type":"output",)"
            R"("url":"/api/v1/jobs/p-1/outputs/0"}],"priority":3,)"
            R"("progress":{"class_type":"KSampler","max":20,"node":"3","value":4},"queue_position":null,)"
            R"("reason":"comfy_error","started_at":"2024-05-01T12:00:00.133Z","state":"failed","workflow":"sd15"})"));
}

void TstJobRecord::encodesNulls()
{
    JobRecord r;
    r.id = u"q"_s;
    r.state = JobState::Queued;
    QCOMPARE(compact(encodeJob(r)),
             QByteArray(
                 R"({"attempts":[],"backend":null,"cancel_requested":false,"client_ref":null,"created_at":null,)"
                 R"("duration_ms":null,"error":null,"eta_ms":null,)"
                 R"("finished_at":null,"id":"q","live_url":null,"node":null,"outputs":[],"priority":0,"progress":null,)"
                 R"("queue_position":null,)"
                 R"("reason":null,"started_at":null,)"
                 R"("state":"queued","workflow":null})"));
}

void TstJobRecord::roundTrip()
{
    const JobRecord r = fullRecord();
    const std::optional<JobRecord> back = parseJob(encodeJob(r));
    QVERIFY(back);
    QCOMPARE(*back, r);
    JobRecord empty;
    empty.id = u"e"_s;
    empty.state = JobState::Running;
    QCOMPARE(parseJob(encodeJob(empty)).value(), empty);
    const QList<JobRecord> list
        = parseJobList({{u"jobs"_s, QJsonArray{encodeJob(r), QJsonObject{}, encodeJob(empty)}}});
    QCOMPARE(list, (QList<JobRecord>{r, empty}));
}

void TstJobRecord::parsesLeniently()
{
    const auto j = parseJob(QJsonDocument::fromJson(R"({"id": "x", "state": "paused", "error": "bare",
        "progress": {"node": 7}, "outputs": [{"node_id": 9}, {"index": 5}]})")
                                .object());
    QVERIFY(j);
    QCOMPARE(j->state, JobState::Unknown);
    QCOMPARE(j->errorMessage(), u"bare"_s);
    QCOMPARE(j->progressNode, u"7"_s);
    QCOMPARE(j->outputs.size(), 2);
    QCOMPARE(j->outputs.at(0).index, 0);
    QCOMPARE(j->outputs.at(0).nodeId, u"9"_s);
    QCOMPARE(j->outputs.at(1).index, 5);
    QVERIFY(!parseJob(QJsonObject{{u"id"_s, 5}}));
    QVERIFY(!parseJob(QJsonObject{{u"id"_s, u""_s}}));
}

QTEST_GUILESS_MAIN(TstJobRecord)
#include "tst_jobrecord.moc"
