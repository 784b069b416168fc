// JobReducer without sockets: recorded ComfyUI runs (tests/data/comfyui-captures) and the service's own
// events reduce to the job state the monitor shows; a final state is never undone; a REST record merges
// without moving a job back; the reducer asks for the record and the workflow when it needs them.

#include "gui/client/jobreducer.h"
#include "protocol/serviceevents.h"
#include "sim/capture.h"

#include <QTest>

using namespace cr::monitor;
using namespace cr::sim;
using namespace Qt::StringLiterals;
namespace protocol = cr::protocol;

namespace {

struct Run {
    QHash<QString, JobView> jobs;
    int started = 0;
    int finished = 0;
    int refreshes = 0;
    QList<JobInfo> records;
    QStringList workflowsNeeded;

    // Feeds one event the way JobTracker does (without network or signals).
    void feed(const MonitorEvent &ev, qint64 atMs)
    {
        const QString id = JobReducer::jobIdOf(ev);
        if (id.isEmpty())
            return;
        const bool isNew = !jobs.contains(id);
        if (isNew)
            jobs.insert(id, JobReducer::newJob(id, atMs, quint64(jobs.size() + 1)));
        const JobChange c = JobReducer::applyEvent(jobs[id], ev, atMs, nullptr, isNew);
        started += c.started;
        finished += c.finished;
        refreshes += c.refresh;
        if (c.record)
            records.append(*c.record);
        if (!c.workflowNeeded.isEmpty())
            workflowsNeeded.append(c.workflowNeeded);
    }
    void feedJson(const QByteArray &json, qint64 atMs, const QString &jobId = {})
    {
        feed(MonitorEvent::from(protocol::parseTextFrame(json).value(), jobId), atMs);
    }
    void feedService(const protocol::ServiceEvent &ev, qint64 atMs)
    {
        feedJson(protocol::encodeServiceEvent(ev), atMs);
    }
};

// Every text frame ComfyUI sent in a recorded scenario, at 1000 + its recorded ms; returns the frames' data.
QList<QJsonObject> replay(Run &run, const QString &scenario)
{
    QString error;
    const auto capture = Capture::load(scenario, &error);
    if (!capture)
        qFatal("%s", qPrintable(error));
    QList<QJsonObject> messages;
    for (const CaptureRecord &r : capture->records) {
        if (r.dir != "ws_in"_L1 || !r.isText())
            continue;
        run.feedJson(r.text, 1000 + qint64(r.t * 1000));
        messages.append(r.line.value("msg"_L1).toObject());
    }
    return messages;
}

} // namespace

class TstJobReducer final : public QObject
{
    Q_OBJECT

private slots:
    void recordedSuccess();
    void recordedRuntimeError();
    void serviceEvents();
    void finalStateIsNotUndone();
    void recordMerges();
};

void TstJobReducer::recordedSuccess()
{
    Run run;
    const QList<QJsonObject> messages = replay(run, u"A_ksampler_ok"_s);
    QCOMPARE(run.jobs.size(), 1);
    const JobView &job = *run.jobs.cbegin();
    QCOMPARE(job.info.state, JobState::Succeeded);
    QCOMPARE(run.started, 1);
    QCOMPARE(run.finished, 1);
    QCOMPARE(run.refreshes, 1); // the record with the outputs
    QVERIFY(job.watched);
    QVERIFY(job.currentNode.isEmpty());
    QCOMPARE(job.overallFraction(), 1.0);
    QVERIFY(job.info.startedAt.isValid() && job.info.finishedAt.isValid());
    QVERIFY(job.info.startedAt <= job.info.finishedAt);
    // Every node the run executed is done; the shown node is the last one that had steps, at its last step.
    double lastValue = 0, lastMax = 0;
    QString steppedNode;
    for (const QJsonObject &m : messages) {
        const QJsonObject d = m.value("data"_L1).toObject();
        if (m.value("type"_L1) == "executing"_L1 && d.value("node"_L1).isString())
            QVERIFY2(job.nodesDone.contains(d.value("node"_L1).toString()), qPrintable(d.value("node"_L1).toString()));
        if (m.value("type"_L1) == "progress"_L1) {
            steppedNode = d.value("node"_L1).toString();
            lastValue = d.value("value"_L1).toDouble();
            lastMax = d.value("max"_L1).toDouble();
        }
    }
    QVERIFY(lastMax > 0);
    QCOMPARE(job.node.nodeId, steppedNode);
    QCOMPARE(job.node.value, lastValue);
    QCOMPARE(job.node.max, lastMax);
    QCOMPARE(job.node.name, u"node %1"_s.arg(steppedNode));
}

void TstJobReducer::recordedRuntimeError()
{
    Run run;
    const QList<QJsonObject> messages = replay(run, u"D_runtime_error"_s);
    QHash<QString, QString> errors; // prompt id -> its error
    for (const QJsonObject &m : messages) {
        const QJsonObject d = m.value("data"_L1).toObject();
        if (m.value("type"_L1) == "execution_error"_L1)
            errors.insert(d.value("prompt_id"_L1).toString(), d.value("exception_message"_L1).toString().trimmed());
    }
    QVERIFY(!errors.isEmpty());
    QCOMPARE(run.jobs.size(), errors.size());
    for (const JobView &job : run.jobs) {
        QCOMPARE(job.info.state, JobState::Failed);
        QCOMPARE(job.info.errorMessage(), errors.value(job.info.id));
    }
    QCOMPARE(run.finished, int(run.jobs.size()));
}

void TstJobReducer::serviceEvents()
{
    using protocol::ServiceEvent;
    using protocol::ServiceEventType;
    Run run;
    run.feedService(ServiceEvent::of(ServiceEventType::JobQueued, protocol::JobQueuedEvent{u"J"_s, u"J"_s, u"sd15"_s}),
                    10);
    QCOMPARE(run.jobs[u"J"_s].info.state, JobState::Queued);
    QCOMPARE(run.jobs[u"J"_s].info.workflow, u"sd15"_s);
    QCOMPARE(run.workflowsNeeded, QStringList{u"sd15"_s});
    QCOMPARE(run.refreshes, 0); // a new job: its owner asks for the record anyway

    run.feedService(ServiceEvent::of(ServiceEventType::JobStarted, protocol::JobStartedEvent{u"J"_s, u"J"_s}), 20);
    QCOMPARE(run.jobs[u"J"_s].info.state, JobState::Running);
    QCOMPARE(run.started, 1);
    QCOMPARE(run.refreshes, 1); // job_started names no state of its own

    run.feedService(ServiceEvent::of(ServiceEventType::JobProgress,
                                     protocol::JobProgressEvent{u"J"_s, u"3"_s, u"KSampler"_s, 5, 20}),
                    30);
    QCOMPARE(run.jobs[u"J"_s].node.name, u"KSampler"_s); // no workflow loaded: the class names it
    QCOMPARE(run.jobs[u"J"_s].node.value, 5.0);
    QCOMPARE(run.refreshes, 1);

    JobInfo record;
    record.id = u"J"_s;
    record.workflow = u"sd15"_s;
    record.state = JobState::Succeeded;
    record.outputs = {{0, u"9"_s, u"a.png"_s, {}, u"output"_s, u"images"_s, u"/api/v1/jobs/J/outputs/0"_s}};
    run.feedService(ServiceEvent::ended(record), 40);
    QCOMPARE(run.jobs[u"J"_s].info.state, JobState::Succeeded);
    QCOMPARE(run.finished, 1);
    QCOMPARE(run.records.size(), 1); // the carried record, for the owner to merge
    QCOMPARE(run.records.first().outputs, record.outputs);
    QCOMPARE(run.jobs[u"J"_s].info.finishedAt, QDateTime::fromMSecsSinceEpoch(40, Qt::UTC));

    // image_generated is the job's too, and changes nothing.
    run.feedService(ServiceEvent::of(ServiceEventType::ImageGenerated,
                                     protocol::ImageGeneratedEvent{{}, u"J"_s, u"J"_s, u"a.png"_s, {}, {}}),
                    50);
    QCOMPARE(run.refreshes, 2); // only the one the final state asked for
    QCOMPARE(run.jobs.size(), 1);
}

void TstJobReducer::finalStateIsNotUndone()
{
    Run run;
    run.feedJson(R"({"type": "execution_start", "data": {"prompt_id": "P"}})", 1);
    run.feedJson(R"({"type": "execution_interrupted", "data": {"prompt_id": "P", "node_id": "3"}})", 2);
    run.feedJson(R"({"type": "progress", "data": {"prompt_id": "P", "node": "3", "value": 4, "max": 8}})", 3);
    run.feedJson(R"({"type": "executing", "data": {"prompt_id": "P", "node": "4"}})", 4);
    QCOMPARE(run.jobs[u"P"_s].info.state, JobState::Cancelled);
    QCOMPARE(run.started, 1);
    QCOMPARE(run.finished, 1);
    // Broadcasts name no job.
    run.feedJson(R"({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 0}}}})", 5);
    QCOMPARE(run.jobs.size(), 1);
}

void TstJobReducer::recordMerges()
{
    JobView job = JobReducer::newJob(u"R"_s, 5, 1);
    JobInfo record;
    record.id = u"R"_s;
    record.state = JobState::Running;
    record.workflow = u"wf"_s;
    record.createdAt = QDateTime::fromMSecsSinceEpoch(3, Qt::UTC);
    record.progressNode = u"3"_s;
    record.progressMax = 10;
    record.progressValue = 2;
    JobChange c = JobReducer::applyRecord(job, record, true, false, nullptr);
    QVERIFY(c.started);
    QCOMPARE(c.workflowNeeded, u"wf"_s);
    QCOMPARE(job.sortKeyMs, 3);
    QCOMPARE(job.node.value, 2.0);
    QVERIFY(job.watched);

    WorkflowInfo wf;
    wf.name = u"wf"_s;
    wf.nodes = {{u"3"_s, u"KSampler"_s, u"Sampler"_s}};
    wf.nodeCount = 7;
    JobReducer::applyWorkflow(job, wf);
    QCOMPARE(job.node.name, u"Sampler"_s);
    QCOMPARE(job.nodesTotal, 7);

    // The relay said it failed; an older REST answer that still says running does not undo that.
    MonitorEvent failed = MonitorEvent::from(
        protocol::parseTextFrame(
            R"({"type": "execution_error", "data": {"prompt_id": "R", "exception_message": "boom", "timestamp": 9}})")
            .value());
    QVERIFY(JobReducer::applyEvent(job, failed, 9, &wf).finished);
    c = JobReducer::applyRecord(job, record, false, false, &wf);
    QCOMPARE(job.info.state, JobState::Failed);
    QCOMPARE(job.info.errorMessage(), u"boom"_s);
    QVERIFY(!c.started && !c.finished);
    QVERIFY(c.workflowNeeded.isEmpty());
    QVERIFY(!job.confirmedFinal);
    record.state = JobState::Failed;
    JobReducer::applyRecord(job, record, false, false, &wf);
    QVERIFY(job.confirmedFinal);
}

QTEST_GUILESS_MAIN(TstJobReducer)
#include "tst_jobreducer.moc"
