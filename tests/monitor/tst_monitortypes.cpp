// Parsing of the REST API's JSON into the monitor's types (the relay port in /api/v1/system too), the
// reconnect backoff, event summaries, the job list's duration text and the bounded, filterable event log.
// No sockets.

#include "gui/client/backoff.h"
#include "gui/client/eventlogmodel.h"
#include "gui/client/eventtext.h"
#include "gui/client/joblistmodel.h"
#include "gui/client/monitortypes.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QSignalSpy>
#include <QTest>

using namespace cr::monitor;
using namespace Qt::StringLiterals;

namespace {

QJsonObject object(const char *json) { return QJsonDocument::fromJson(QByteArray(json)).object(); }

MonitorEvent eventFrom(const char *json, const QString &jobId = {})
{
    return MonitorEvent::from(cr::protocol::parseTextFrame(QByteArray(json)).value(), jobId);
}

} // namespace

class TstMonitorTypes : public QObject
{
    Q_OBJECT

private slots:
    void backoff_data();
    void backoff();
    void backoffJitterStaysInRange();
    void job();
    void jobWithoutIdIsRejected();
    void jobState_data();
    void jobState();
    void workflow();
    void workflowNames_data();
    void workflowNames();
    void outputIsImage_data();
    void outputIsImage();
    void relayUrl_data();
    void relayUrl();
    void relayPortFromSystem_data();
    void relayPortFromSystem();
    void describe_data();
    void describe();
    void duration_data();
    void duration();
    void eventLogIsBounded();
    void eventLogFilter();
};

void TstMonitorTypes::backoff_data()
{
    QTest::addColumn<int>("initial");
    QTest::addColumn<int>("max");
    QTest::addColumn<double>("factor");
    QTest::addColumn<QList<int>>("delays");
    QTest::newRow("doubling, capped") << 250 << 2000 << 2.0 << QList<int>{250, 500, 1000, 2000, 2000, 2000};
    QTest::newRow("factor 3") << 100 << 10000 << 3.0 << QList<int>{100, 300, 900, 2700, 8100, 10000};
    QTest::newRow("max below initial") << 500 << 100 << 2.0 << QList<int>{500, 500, 500};
    QTest::newRow("factor below 1 is 1") << 200 << 1000 << 0.5 << QList<int>{200, 200, 200};
}

void TstMonitorTypes::backoff()
{
    QFETCH(int, initial);
    QFETCH(int, max);
    QFETCH(double, factor);
    QFETCH(QList<int>, delays);
    Backoff b(initial, max, factor);
    QList<int> got;
    for (qsizetype i = 0; i < delays.size(); ++i)
        got.append(b.next());
    QCOMPARE(got, delays);
    QCOMPARE(b.attempts(), int(delays.size()));
    b.reset();
    QCOMPARE(b.attempts(), 0);
    QCOMPARE(b.next(), delays.first());
}

void TstMonitorTypes::backoffJitterStaysInRange()
{
    Backoff b(1000, 1000, 2.0, 0.25);
    bool varied = false;
    int previous = -1;
    for (int i = 0; i < 200; ++i) {
        const int d = b.next();
        QVERIFY2(d >= 750 && d <= 1000, qPrintable(QString::number(d)));
        varied = varied || (previous >= 0 && d != previous);
        previous = d;
    }
    QVERIFY(varied);
}

void TstMonitorTypes::job()
{
    const auto job = cr::protocol::parseJob(object(R"({
        "id": "p-1", "client_ref": null, "workflow": "sd15_txt2img", "state": "succeeded",
        "created_at": "2025-01-02T03:04:05.678Z", "started_at": "2025-01-02T03:04:06.000Z",
        "finished_at": "2025-01-02T03:04:16.500Z", "duration_ms": 10500,
        "progress": {"node": "3", "class_type": "KSampler", "value": 20, "max": 20},
        "outputs": [{"index": 0, "node_id": "9", "filename": "comfy_runner_00001_.png", "subfolder": "",
                     "type": "output", "kind": "images", "url": "/api/v1/jobs/p-1/outputs/0"}],
        "error": null, "reason": null, "cancel_requested": false})"));
    QVERIFY(job);
    QCOMPARE(job->id, u"p-1"_s);
    QCOMPARE(job->workflow, u"sd15_txt2img"_s);
    QCOMPARE(job->state, JobState::Succeeded);
    QCOMPARE(job->createdAt.toMSecsSinceEpoch(),
             QDateTime::fromString(u"2025-01-02T03:04:05.678Z"_s, Qt::ISODateWithMs).toMSecsSinceEpoch());
    QCOMPARE(job->durationMs, 10500);
    QCOMPARE(job->progressNode, u"3"_s);
    QCOMPARE(job->progressClass, u"KSampler"_s);
    QCOMPARE(job->progressMax, 20.0);
    QCOMPARE(job->outputs.size(), 1);
    QCOMPARE(job->outputs.at(0).filename, u"comfy_runner_00001_.png"_s);
    QCOMPARE(job->outputs.at(0).nodeId, u"9"_s);
    QVERIFY(job->outputs.at(0).isImage());
    QVERIFY(job->errorMessage().isEmpty());

    const auto failed = cr::protocol::parseJob(object(R"({"id": "p-2", "state": "failed", "duration_ms": null,
        "error": {"message": "boom", "node_id": "4"}, "reason": "ComfyUI reported an error"})"));
    QVERIFY(failed);
    QCOMPARE(failed->state, JobState::Failed);
    QCOMPARE(failed->durationMs, -1);
    QCOMPARE(failed->errorMessage(), u"boom"_s);
    QCOMPARE(failed->reason, u"ComfyUI reported an error"_s);
    QVERIFY(!failed->startedAt.isValid());

    const QList<JobInfo> list
        = cr::protocol::parseJobList(object(R"({"jobs": [{"id": "a"}, {"nope": 1}, {"id": "b"}], "total": 3})"));
    QCOMPARE(list.size(), 2);
    QCOMPARE(list.at(1).id, u"b"_s);
}

void TstMonitorTypes::jobWithoutIdIsRejected()
{
    QVERIFY(!cr::protocol::parseJob(object(R"({"state": "queued"})")));
    QVERIFY(!cr::protocol::parseJob(object(R"({"id": 5})")));
    QVERIFY(!cr::protocol::parseJob(object(R"({"id": ""})")));
}

void TstMonitorTypes::jobState_data()
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
    QTest::newRow("other") << u"paused"_s << int(JobState::Unknown) << false;
}

void TstMonitorTypes::jobState()
{
    QFETCH(QString, name);
    QFETCH(int, state);
    QFETCH(bool, final);
    QCOMPARE(int(jobStateFromName(name)), state);
    QCOMPARE(isFinal(JobState(state)), final);
    if (JobState(state) != JobState::Unknown)
        QCOMPARE(jobStateName(JobState(state)), name);
}

void TstMonitorTypes::workflow()
{
    const WorkflowInfo w = workflowFromJson(object(R"({
        "name": "sd15_txt2img",
        "parameters": [
            {"name": "Positive Prompt", "node": "6", "input": "text", "type": "string", "value": "a cat", "source": "title"},
            {"name": "seed", "node": "3", "input": "seed", "type": "integer", "value": 156680208700286, "source": "mapping"},
            {"name": "cfg", "node": 3, "input": "cfg", "value": 7.5}
        ],
        "nodes": [{"id": "3", "class_type": "KSampler", "title": "Sampler", "inputs": []},
                  {"id": "6", "class_type": "CLIPTextEncode", "title": "", "inputs": []}],
        "graph": {"3": {"class_type": "KSampler"}, "8": {"class_type": "VAEDecode", "_meta": {"title": "VAE Decode"}}}
    })"));
    QCOMPARE(w.name, u"sd15_txt2img"_s);
    QCOMPARE(w.parameters.size(), 3);
    QCOMPARE(w.parameters.at(0).name, u"Positive Prompt"_s);
    QCOMPARE(w.parameters.at(0).value.toString(), u"a cat"_s);
    QCOMPARE(w.parameters.at(1).type, u"integer"_s);
    QCOMPARE(w.parameters.at(1).value.toInteger(), 156680208700286);
    QCOMPARE(w.parameters.at(2).nodeId, u"3"_s);
    QCOMPARE(w.parameters.at(2).type, u"float"_s); // guessed from the value
    QCOMPARE(w.nodeCount, 3);                      // 3 and 6 from nodes, 8 from the graph
    QCOMPARE(w.nodeName(u"3"_s), u"Sampler"_s);
    QCOMPARE(w.nodeName(u"6"_s), u"CLIPTextEncode"_s);
    QCOMPARE(w.nodeName(u"8"_s), u"VAE Decode"_s);
    QCOMPARE(w.nodeName(u"42"_s), u"node 42"_s);

    const WorkflowInfo byMap = workflowFromJson(
        object(R"({"parameters": {"prompt": {"type": "string", "value": "x"}, "steps": 20}})"), u"fallback"_s);
    QCOMPARE(byMap.name, u"fallback"_s);
    QCOMPARE(byMap.parameters.size(), 2);
    QCOMPARE(byMap.parameters.at(1).name, u"steps"_s);
    QCOMPARE(byMap.parameters.at(1).type, u"integer"_s);
}

void TstMonitorTypes::workflowNames_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QStringList>("names");
    QTest::newRow("objects") << QByteArray(R"({"workflows": [{"name": "b"}, {"name": "a"}]})")
                             << QStringList{u"a"_s, u"b"_s};
    QTest::newRow("strings") << QByteArray(R"({"workflows": ["z", "y", "z"]})") << QStringList{u"y"_s, u"z"_s};
    QTest::newRow("bare array") << QByteArray(R"(["one"])") << QStringList{u"one"_s};
    QTest::newRow("empty") << QByteArray(R"({"workflows": []})") << QStringList{};
    QTest::newRow("wrong shape") << QByteArray(R"({"workflows": {"a": 1}})") << QStringList{};
}

void TstMonitorTypes::workflowNames()
{
    QFETCH(QByteArray, json);
    QFETCH(QStringList, names);
    const QJsonDocument doc = QJsonDocument::fromJson(json);
    QCOMPARE(workflowNamesFromJson(doc.isArray() ? QJsonValue(doc.array()) : QJsonValue(doc.object())), names);
}

void TstMonitorTypes::outputIsImage_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("filename");
    QTest::addColumn<bool>("image");
    QTest::newRow("images") << u"images"_s << u"x.bin"_s << true;
    QTest::newRow("png by name") << u"other"_s << u"x.PNG"_s << true;
    QTest::newRow("webp by name") << u""_s << u"x.webp"_s << true;
    QTest::newRow("video") << u"video"_s << u"x.mp4"_s << false;
    QTest::newRow("audio") << u"audio"_s << u"x.flac"_s << false;
}

void TstMonitorTypes::outputIsImage()
{
    QFETCH(QString, kind);
    QFETCH(QString, filename);
    QFETCH(bool, image);
    JobOutput out;
    out.kind = kind;
    out.filename = filename;
    QCOMPARE(out.isImage(), image);
}

void TstMonitorTypes::relayUrl_data()
{
    QTest::addColumn<QString>("runner");
    QTest::addColumn<QString>("relay");
    QTest::newRow("default ports") << u"http://127.0.0.1:8189"_s << u"ws://127.0.0.1:8190/"_s;
    QTest::newRow("other port, path") << u"http://gpu-box:9000/base"_s << u"ws://gpu-box:9001/"_s;
    QTest::newRow("https") << u"https://runner.example"_s << u"wss://runner.example:444/"_s;
    QTest::newRow("no host") << u"not a url"_s << u""_s;
}

void TstMonitorTypes::relayUrl()
{
    QFETCH(QString, runner);
    QFETCH(QString, relay);
    QCOMPARE(defaultRelayUrl(QUrl(runner)).toString(), relay);
}

void TstMonitorTypes::relayPortFromSystem_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<int>("port"); // 0 = none
    QTest::newRow("reported") << QByteArray(R"({"service": {"name": "comfy_runner", "relay_port": 41234}})") << 41234;
    QTest::newRow("null: no relay") << QByteArray(R"({"service": {"relay_port": null}})") << 0;
    QTest::newRow("older runner") << QByteArray(R"({"service": {"name": "comfy_runner", "version": "0.1"}})") << 0;
    QTest::newRow("no service") << QByteArray(R"({"comfyui": {"state": "connected"}})") << 0;
    QTest::newRow("text") << QByteArray(R"({"service": {"relay_port": "8190"}})") << 0;
    QTest::newRow("zero") << QByteArray(R"({"service": {"relay_port": 0}})") << 0;
    QTest::newRow("too large") << QByteArray(R"({"service": {"relay_port": 65536}})") << 0;
    QTest::newRow("fraction") << QByteArray(R"({"service": {"relay_port": 8190.5}})") << 0;
}

void TstMonitorTypes::relayPortFromSystem()
{
    QFETCH(QByteArray, json);
    QFETCH(int, port);
    const std::optional<int> parsed = cr::monitor::relayPortFromSystem(QJsonDocument::fromJson(json).object());
    QCOMPARE(parsed.value_or(0), port);
    if (parsed)
        QCOMPARE(relayUrlAt(QUrl(u"https://gpu-box:9000/base"_s), *parsed).toString(),
                 u"wss://gpu-box:%1/"_s.arg(port));
}

void TstMonitorTypes::describe_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("category");
    QTest::addColumn<QString>("text");
    QTest::newRow("progress") << QByteArray(
        R"({"type": "progress", "data": {"value": 3, "max": 20, "node": "3", "prompt_id": "p"}})")
                              << u"comfy"_s << u"step 3/20 on node 3"_s;
    QTest::newRow("executing") << QByteArray(R"({"type": "executing", "data": {"node": "8", "prompt_id": "p"}})")
                               << u"comfy"_s << u"executing node 8"_s;
    QTest::newRow("finished") << QByteArray(R"({"type": "executing", "data": {"node": null, "prompt_id": "p"}})")
                              << u"comfy"_s << u"prompt finished"_s;
    QTest::newRow("error") << QByteArray(
        R"({"type": "execution_error", "data": {"prompt_id": "p", "node_id": "4", "node_type": "CheckpointLoaderSimple", "exception_message": "bad file\n", "timestamp": 1}})")
                           << u"comfy"_s << u"error in node 4 (CheckpointLoaderSimple): bad file"_s;
    QTest::newRow("job_queued") << QByteArray(R"({"type": "job_queued", "data": {"job_id": "j", "workflow": "sd15"}})")
                                << u"job"_s << u"queued (sd15)"_s;
    QTest::newRow("job_queued, no workflow")
        << QByteArray(R"({"type": "job_queued", "data": {"job_id": "j"}})") << u"job"_s << u"queued"_s;
    QTest::newRow("job_progress") << QByteArray(
        R"({"type": "job_progress", "data": {"job_id": "j", "node": "3", "class_type": "KSampler", "value": 4, "max": 20}})")
                                  << u"job"_s << u"node 3 (KSampler) step 4/20"_s;
    QTest::newRow("job_progress, no steps")
        << QByteArray(R"({"type": "job_progress", "data": {"job_id": "j", "node": "9", "value": 0, "max": 0}})")
        << u"job"_s << u"node 9 running"_s;
    QTest::newRow("job_finished") << QByteArray(
        R"({"type": "job_finished", "data": {"id": "j", "job_id": "j", "state": "succeeded", "outputs": [{}], "duration_ms": 2050}})")
                                  << u"job"_s << u"succeeded, 1 output(s), 2.0 s"_s;
    QTest::newRow("job_failed") << QByteArray(
        R"({"type": "job_failed", "data": {"id": "j", "state": "failed", "outputs": [], "error": {"message": "boom\n"}}})")
                                << u"job"_s << u"failed, 0 output(s): boom"_s;
    QTest::newRow("image_generated") << QByteArray(
        R"({"STATUS": "Workflow completed successfully", "type": "image_generated", "job_id": "j", "image_filename": "a.png"})")
                                     << u"job"_s << u"image a.png"_s;
    QTest::newRow("custom node event") << QByteArray(R"({"type": "crystools.monitor", "data": {"cpu": 5}})")
                                       << u"comfy"_s << uR"({"cpu":5})"_s;
}

void TstMonitorTypes::describe()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, category);
    QFETCH(QString, text);
    const MonitorEvent ev = eventFrom(json.constData());
    QCOMPARE(eventCategory(ev.event.typeName), category);
    QCOMPARE(describeEvent(ev), text);
}

void TstMonitorTypes::duration_data()
{
    QTest::addColumn<qint64>("ms");
    QTest::addColumn<QString>("text");
    QTest::newRow("unknown") << qint64(-1) << u"—"_s;
    QTest::newRow("ms") << qint64(850) << u"850 ms"_s;
    QTest::newRow("seconds") << qint64(12345) << u"12.3 s"_s;
    QTest::newRow("minutes") << qint64(245000) << u"4 min 05 s"_s;
}

void TstMonitorTypes::duration()
{
    QFETCH(qint64, ms);
    QFETCH(QString, text);
    QCOMPARE(JobListModel::formatDuration(ms), text);
}

void TstMonitorTypes::eventLogIsBounded()
{
    EventLogModel log(5);
    QSignalSpy removed(&log, &QAbstractItemModel::rowsRemoved);
    for (int i = 1; i <= 12; ++i)
        log.appendEvent(eventFrom(
            qPrintable(u"{\"type\": \"progress\", \"data\": {\"value\": %1, \"max\": 12, \"node\": \"3\"}}"_s.arg(i)),
            u"job"_s));
    QCOMPARE(log.rowCount(), 5);
    QCOMPARE(log.totalAdded(), quint64(12));
    QCOMPARE(removed.count(), 7);
    QCOMPARE(log.entry(0).text, u"step 8/12 on node 3"_s);
    QCOMPARE(log.entry(4).text, u"step 12/12 on node 3"_s);
    log.setCapacity(2);
    QCOMPARE(log.rowCount(), 2);
    QCOMPARE(log.entry(0).text, u"step 11/12 on node 3"_s);
}

void TstMonitorTypes::eventLogFilter()
{
    EventLogModel log(100);
    log.appendEvent(eventFrom(R"({"type": "execution_start", "data": {"prompt_id": "alpha"}})", u"alpha"_s));
    log.appendEvent(eventFrom(
        R"({"type": "progress", "data": {"value": 1, "max": 2, "node": "3", "prompt_id": "alpha"}})", u"alpha"_s));
    log.appendEvent(eventFrom(R"({"type": "job_finished", "data": {"job_id": "beta", "state": "failed"}})", u"beta"_s));
    log.append({QDateTime::currentDateTime(), u"relay"_s, u"state"_s, {}, u"connected"_s, LogEntry::Level::Info});

    EventLogFilter filter;
    filter.setSourceModel(&log);
    QCOMPARE(filter.rowCount(), 4);
    filter.setHideProgress(true);
    QCOMPARE(filter.rowCount(), 3);
    filter.setCategory(u"job"_s);
    QCOMPARE(filter.rowCount(), 1);
    QCOMPARE(filter.index(0, 0).data(EventLogModel::JobIdRole).toString(), u"beta"_s);
    filter.setCategory({});
    filter.setText(u"ALPHA"_s); // case-insensitive, matches the job id
    QCOMPARE(filter.rowCount(), 1);
    filter.setHideProgress(false);
    QCOMPARE(filter.rowCount(), 2);
    filter.setText(u"connected"_s);
    QCOMPARE(filter.rowCount(), 1);
    QCOMPARE(filter.index(0, 0).data(EventLogModel::CategoryRole).toString(), u"relay"_s);
}

QTEST_GUILESS_MAIN(TstMonitorTypes)
#include "tst_monitortypes.moc"
