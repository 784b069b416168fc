// JobTracker and JobListModel fed by a real relay (EventHub + RelayServer on port 0) with scripted events,
// the REST API absent (a closed port): job state from ComfyUI and service events, node progress and names,
// overall progress, the final job record carried by job_finished, no regression from a final state,
// previews counted per job, the list's order, cancel flags and the outputs column (every kind of output).

#include "core/relay/eventhub.h"
#include "core/relay/relayserver.h"
#include "gui/client/joblistmodel.h"
#include "gui/client/jobtracker.h"
#include "gui/client/restclient.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QTest>

#include <memory>

using namespace cr::monitor;
using namespace Qt::StringLiterals;

namespace {

// Relay + a window-less monitor (relay client, REST client to nowhere, tracker, model).
struct Bench {
    cr::EventHub hub;
    QTcpSocket closedPort;
    std::unique_ptr<cr::RelayServer> server;
    RelayClient relay;
    RestClient rest;
    JobTracker tracker{&relay, &rest};
    JobListModel model{&tracker};

    bool start()
    {
        cr::RelaySettings s;
        s.host = u"127.0.0.1"_s;
        s.port = 0;
        server = std::make_unique<cr::RelayServer>(&hub, s, QString());
        if (!server->listen())
            return false;
        // A port that refuses connections while the bench lives: bound, never listening (no other socket
        // gets it meanwhile).
        if (!closedPort.bind(QHostAddress::LocalHost, 0, QAbstractSocket::DontShareAddress))
            return false;
        const quint16 closed = closedPort.localPort();
        rest.setBaseUrl(QUrl(u"http://127.0.0.1:%1"_s.arg(closed)));
        relay.setUrl(QUrl(u"ws://127.0.0.1:%1/"_s.arg(server->port())));
        relay.open();
        return QTest::qWaitFor([this] { return relay.state() == RelayClient::State::Connected; }, 5000);
    }
    void comfy(const QString &json, const QString &job)
    {
        hub.publishComfyEvent(cr::protocol::parseTextFrame(json.toUtf8()).value(), job);
    }
    void service(const QString &type, const QJsonObject &data, const QString &job)
    {
        hub.publishServiceEvent(type, data, job);
    }
    void preview(const QString &job)
    {
        cr::protocol::PreviewFrame f;
        f.image = "x";
        f.meta.promptId = job;
        hub.publishPreview(f, job);
    }
    // Waits until the relay client has every event published so far.
    bool settle()
    {
        return QTest::qWaitFor([this] { return relay.lastSeq() == hub.lastSeq(); }, 5000);
    }
};

QJsonObject finishedJob(const QString &id)
{
    return QJsonDocument::fromJson(
               u"{\"id\": \"%1\", \"workflow\": \"sd15\", \"state\": \"succeeded\", "
               "\"created_at\": \"2025-01-01T00:00:00.000Z\", \"started_at\": \"2025-01-01T00:00:01.000Z\", "
               "\"finished_at\": \"2025-01-01T00:00:03.500Z\", \"duration_ms\": 2500, "
               "\"outputs\": [{\"index\": 0, \"node_id\": \"9\", \"filename\": \"a.png\", \"kind\": \"images\"}]}"_s
                   .arg(id)
                   .toUtf8())
        .object();
}

} // namespace

class TstJobTracker : public QObject
{
    Q_OBJECT

private slots:
    void followsARunFromEvents();
    void failureAndCancel();
    void finalStateIsNotUndone();
    void listIsNewestFirst();
    void forgottenJobsTakeTheirOutputRequests();
    void outputsColumnListsEveryKind();
    void etaColumnFollowsTheEvents();
};

void TstJobTracker::followsARunFromEvents()
{
    Bench b;
    QVERIFY(b.start());
    QSignalSpy started(&b.tracker, &JobTracker::jobStarted);
    QSignalSpy finished(&b.tracker, &JobTracker::jobFinished);

    b.service(u"job_queued"_s, {{"workflow"_L1, "sd15"_L1}}, u"J"_s);
    QVERIFY(b.settle());
    const JobView *job = b.tracker.job(u"J"_s);
    QVERIFY(job);
    QCOMPARE(job->info.state, JobState::Queued);
    QCOMPARE(job->info.workflow, u"sd15"_s);
    QCOMPARE(b.model.rowCount(), 1);
    QVERIFY(b.model.index(0, JobListModel::CancelColumn).data(JobListModel::CanCancelRole).toBool());

    b.comfy(uR"({"type": "execution_start", "data": {"prompt_id": "J"}})"_s, u"J"_s);
    b.comfy(uR"({"type": "execution_cached", "data": {"prompt_id": "J", "nodes": ["4", "5"]}})"_s, u"J"_s);
    b.comfy(uR"({"type": "executing", "data": {"node": "3", "prompt_id": "J"}})"_s, u"J"_s);
    for (int i = 1; i <= 4; ++i) {
        b.comfy(
            u"{\"type\": \"progress\", \"data\": {\"value\": %1, \"max\": 8, \"node\": \"3\", \"prompt_id\": \"J\"}}"_s
                .arg(i),
            u"J"_s);
        b.preview(u"J"_s);
    }
    QVERIFY(b.settle());
    QTRY_COMPARE_WITH_TIMEOUT(job->previewFrames, quint64(4), 5000);
    QCOMPARE(job->info.state, JobState::Running);
    QCOMPARE(started.count(), 1);
    QVERIFY(job->info.startedAt.isValid());
    QCOMPARE(job->node.nodeId, u"3"_s);
    QCOMPARE(job->node.name, u"node 3"_s); // no workflow details (REST is down)
    QCOMPARE(job->node.value, 4.0);
    QCOMPARE(job->node.max, 8.0);
    QCOMPARE(job->nodesDone, (QSet<QString>{u"4"_s, u"5"_s}));
    // No node count known: done nodes plus the running node's half out of the nodes seen.
    QCOMPARE(job->overallFraction(), (2 + 0.5) / 3);
    QCOMPARE(b.model.index(0, JobListModel::StateColumn).data().toString(), u"running"_s);

    b.comfy(uR"({"type": "executing", "data": {"node": "9", "prompt_id": "J"}})"_s, u"J"_s);
    b.comfy(
        uR"({"type": "executed", "data": {"node": "9", "output": {"images": [{"filename": "a.png"}]}, "prompt_id": "J"}})"_s,
        u"J"_s);
    b.comfy(uR"({"type": "execution_success", "data": {"prompt_id": "J", "timestamp": 1}})"_s, u"J"_s);
    QVERIFY(b.settle());
    QCOMPARE(job->info.state, JobState::Succeeded);
    QCOMPARE(finished.count(), 1);
    QCOMPARE(job->overallFraction(), 1.0);
    QCOMPARE(job->node.nodeId, u"3"_s); // the last node with steps, not Save Image
    QVERIFY(!job->confirmedFinal);

    // job_finished carries the runner's record: outputs and duration.
    b.service(u"job_finished"_s, finishedJob(u"J"_s), u"J"_s);
    QVERIFY(b.settle());
    QVERIFY(job->confirmedFinal);
    QCOMPARE(job->info.outputs.size(), 1);
    QCOMPARE(job->durationMs(0), 2500);
    QCOMPARE(b.model.index(0, JobListModel::DurationColumn).data().toString(), u"2.5 s"_s);
    QVERIFY(!b.model.index(0, JobListModel::CancelColumn).data(JobListModel::CanCancelRole).toBool());
    QCOMPARE(finished.count(), 1);
}

void TstJobTracker::failureAndCancel()
{
    Bench b;
    QVERIFY(b.start());
    b.comfy(uR"({"type": "execution_start", "data": {"prompt_id": "F"}})"_s, u"F"_s);
    // ExecutionBlocked (no timestamp) is informational; the run goes on.
    b.comfy(
        uR"({"type": "execution_error", "data": {"prompt_id": "F", "node_id": "4", "exception_type": "ExecutionBlocked", "exception_message": "blocked"}})"_s,
        u"F"_s);
    QVERIFY(b.settle());
    QCOMPARE(b.tracker.job(u"F"_s)->info.state, JobState::Running);
    b.comfy(
        uR"({"type": "execution_error", "data": {"prompt_id": "F", "node_id": "4", "node_type": "CheckpointLoaderSimple", "exception_type": "SafetensorError", "exception_message": "bad file\n", "timestamp": 5}})"_s,
        u"F"_s);
    b.comfy(uR"({"type": "execution_start", "data": {"prompt_id": "C"}})"_s, u"C"_s);
    b.comfy(uR"({"type": "execution_interrupted", "data": {"prompt_id": "C", "node_id": "3", "timestamp": 6}})"_s,
            u"C"_s);
    QVERIFY(b.settle());
    QCOMPARE(b.tracker.job(u"F"_s)->info.state, JobState::Failed);
    QCOMPARE(b.tracker.job(u"F"_s)->info.errorMessage(), u"bad file"_s);
    QCOMPARE(b.tracker.job(u"C"_s)->info.state, JobState::Cancelled);
    const int row = b.model.rowOf(u"F"_s);
    QCOMPARE(b.model.index(row, 0).data(Qt::ToolTipRole).toString(), u"bad file"_s);
    QCOMPARE(b.tracker.newestActiveJob(), QString());
}

void TstJobTracker::finalStateIsNotUndone()
{
    Bench b;
    QVERIFY(b.start());
    b.comfy(uR"({"type": "execution_start", "data": {"prompt_id": "S"}})"_s, u"S"_s);
    b.comfy(uR"({"type": "execution_success", "data": {"prompt_id": "S", "timestamp": 1}})"_s, u"S"_s);
    // A late event that says otherwise (e.g. an old job_started replayed) does not bring it back.
    b.service(u"job_started"_s, {}, u"S"_s);
    b.comfy(uR"({"type": "progress", "data": {"value": 1, "max": 2, "node": "3", "prompt_id": "S"}})"_s, u"S"_s);
    QVERIFY(b.settle());
    QCOMPARE(b.tracker.job(u"S"_s)->info.state, JobState::Succeeded);
    // A runner record that is not final yet does not undo it either.
    JobInfo stale;
    stale.id = u"S"_s;
    stale.state = JobState::Running;
    b.tracker.noteSubmitted(stale);
    QCOMPARE(b.tracker.job(u"S"_s)->info.state, JobState::Succeeded);
}

void TstJobTracker::listIsNewestFirst()
{
    Bench b;
    QVERIFY(b.start());
    for (const char *id : {"one", "two", "three"}) {
        b.service(u"job_queued"_s, {}, QString::fromLatin1(id));
        QVERIFY(b.settle());
    }
    QCOMPARE(b.model.rowCount(), 3);
    QCOMPARE(b.model.jobIdAt(0), u"three"_s);
    QCOMPARE(b.model.jobIdAt(2), u"one"_s);
    QCOMPARE(b.tracker.jobIds(), (QStringList{u"three"_s, u"two"_s, u"one"_s}));
    b.comfy(uR"({"type": "execution_start", "data": {"prompt_id": "one"}})"_s, u"one"_s);
    QVERIFY(b.settle());
    QCOMPARE(b.tracker.newestActiveJob(), u"one"_s); // running wins over queued
    // A job known only from REST, created earlier, goes below.
    JobInfo old;
    old.id = u"old"_s;
    old.state = JobState::Succeeded;
    old.createdAt = QDateTime::fromMSecsSinceEpoch(1000);
    b.tracker.noteSubmitted(old);
    QCOMPARE(b.model.jobIdAt(3), u"old"_s);
    b.tracker.clear();
    QCOMPARE(b.model.rowCount(), 0);

    // Jobs of the same millisecond (a fast relay delivers several in one): the one seen later is newer,
    // in the tracker and in the model alike.
    for (const QString &id : {u"a"_s, u"c"_s, u"b"_s}) {
        JobInfo same;
        same.id = id;
        same.state = JobState::Queued;
        same.createdAt = QDateTime::fromMSecsSinceEpoch(5000);
        b.tracker.noteSubmitted(same);
    }
    QCOMPARE(b.tracker.jobIds(), (QStringList{u"b"_s, u"c"_s, u"a"_s}));
    QCOMPARE(b.model.rowCount(), 3);
    for (int row = 0; row < 3; ++row)
        QCOMPARE(b.model.jobIdAt(row), b.tracker.jobIds().at(row));
    QCOMPARE(b.tracker.newestActiveJob(), u"b"_s);
}

// Watched jobs that succeed have their image outputs fetched once; when a job is trimmed (max jobs), what
// was remembered of its downloads goes with it instead of growing for ever.
void TstJobTracker::forgottenJobsTakeTheirOutputRequests()
{
    Bench b;
    QVERIFY(b.start());
    b.tracker.setMaxJobs(2);
    for (int i = 0; i < 6; ++i) {
        const QString id = u"job-%1"_s.arg(i);
        b.comfy(u"{\"type\": \"execution_start\", \"data\": {\"prompt_id\": \"%1\"}}"_s.arg(id), id);
        b.service(u"job_finished"_s, finishedJob(id), id);
        QVERIFY(b.settle());
        QCOMPARE(b.tracker.job(id)->info.state, JobState::Succeeded);
    }
    QCOMPARE(b.tracker.jobCount(), 2);
    QCOMPARE(b.tracker.outputRequestCount(), 2); // one image each, of the two jobs still known
}

void TstJobTracker::outputsColumnListsEveryKind()
{
    Bench b;
    QVERIFY(b.start());
    b.service(u"job_queued"_s, QJsonObject{{u"workflow"_s, u"sd15"_s}}, u"K"_s);
    QVERIFY(b.settle());
    QCOMPARE(b.model.index(0, JobListModel::OutputsColumn).data().toString(), u"—"_s);
    QJsonObject job = finishedJob(u"K"_s);
    job.insert(u"outputs"_s,
               QJsonDocument::fromJson(R"([
        {"index": 0, "node_id": "20", "filename": "a.gif", "kind": "gifs", "media": "animated", "content_type": "image/gif"},
        {"index": 1, "node_id": "21", "filename": "v.mp4", "kind": "video", "media": "video", "content_type": "video/mp4"},
        {"index": 2, "node_id": "22", "filename": "s.wav", "kind": "audio", "media": "audio", "content_type": "audio/wav"},
        {"index": 3, "node_id": "23", "filename": "m.glb", "kind": "3d", "media": "3d", "content_type": "model/gltf-binary"},
        {"index": 4, "node_id": "25", "filename": "", "kind": "text", "media": "text", "content_type": "text/plain; charset=utf-8", "text": "a caption"},
        {"index": 5, "node_id": "9", "filename": "a.png", "kind": "images", "media": "image", "content_type": "image/png"},
        {"index": 6, "node_id": "10", "filename": "b.png", "kind": "images", "media": "image", "content_type": "image/png"}])")
                   .array());
    b.service(u"job_finished"_s, job, u"K"_s);
    QVERIFY(b.settle());
    const QModelIndex cell = b.model.index(0, JobListModel::OutputsColumn);
    QCOMPARE(cell.data().toString(), u"1 animated, 1 video, 1 audio, 1 3d, 1 text, 2 image"_s);
    const QString tip = cell.data(Qt::ToolTipRole).toString();
    QVERIFY2(tip.contains(u"#1 video  v.mp4 (video/mp4)"_s), qPrintable(tip));
    QVERIFY2(tip.contains(u"#4 text  \"a caption\""_s), qPrintable(tip));
    QCOMPARE(tip.count(u'\n'), 6);
    QCOMPARE(b.model.headerData(JobListModel::OutputsColumn, Qt::Horizontal).toString(), u"Outputs"_s);
    // Only pictures go to the gallery: the images and the animated one.
    const JobView *view = b.tracker.job(u"K"_s);
    QVERIFY(view);
    int pictures = 0;
    for (const cr::protocol::JobOutput &out : view->info.outputs)
        pictures += out.isImage() ? 1 : 0;
    QCOMPARE(pictures, 3);
}

void TstJobTracker::etaColumnFollowsTheEvents()
{
    Bench b;
    QVERIFY(b.start());
    b.service(u"job_queued"_s, QJsonObject{{u"workflow"_s, u"sd15"_s}, {u"eta_ms"_s, 125000}}, u"E"_s);
    QVERIFY(b.settle());
    const QModelIndex eta = b.model.index(0, JobListModel::EtaColumn);
    QCOMPARE(b.model.headerData(JobListModel::EtaColumn, Qt::Horizontal).toString(), u"ETA"_s);
    // 125 s from the event, counting down from when it was sent: "2 min 0x s".
    QVERIFY2(eta.data().toString().startsWith(u"2 min 0"_s), qPrintable(eta.data().toString()));
    b.service(u"job_started"_s, QJsonObject{{u"prompt_id"_s, u"E"_s}}, u"E"_s);
    b.service(u"job_progress"_s, QJsonObject{{u"node"_s, u"3"_s}, {u"value"_s, 5}, {u"max"_s, 20}, {u"eta_ms"_s, 4000}},
              u"E"_s);
    QVERIFY(b.settle());
    const QString running = b.model.index(0, JobListModel::EtaColumn).data().toString();
    QVERIFY2(running.endsWith(u" s"_s) && running.section(u' ', 0, 0).toDouble() <= 4.0
                 && running.section(u' ', 0, 0).toDouble() > 2.0,
             qPrintable(running));
    b.service(u"job_progress"_s,
              QJsonObject{{u"node"_s, u"3"_s}, {u"value"_s, 6}, {u"max"_s, 20}, {u"eta_ms"_s, QJsonValue()}}, u"E"_s);
    QVERIFY(b.settle());
    QCOMPARE(b.model.index(0, JobListModel::EtaColumn).data().toString(), u"—"_s); // unknown
    b.service(u"job_finished"_s, finishedJob(u"E"_s), u"E"_s);
    QVERIFY(b.settle());
    QCOMPARE(b.model.index(0, JobListModel::EtaColumn).data().toString(), QString()); // final: none
}

QTEST_GUILESS_MAIN(TstJobTracker)
#include "tst_jobtracker.moc"
