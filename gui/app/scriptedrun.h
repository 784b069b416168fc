#pragma once
// The monitor's scripted mode (--run-workflow NAME [--input KEY=VALUE]...): one run of a workflow,
// submitted as soon as the window is ready, and its outcome. It remembers the workflow and the extra
// inputs until the job is submitted, then follows that job: `finished` comes once, when the job is final
// as the runner reported it and every image output of a success is in the gallery (or at once when the
// submission fails).

#include <QJsonObject>
#include <QObject>
#include <QString>

#include <functional>

namespace cr::monitor {

class GalleryView;
class JobTracker;

class ScriptedRun final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ScriptedRun)

public:
    // tracker and gallery: not owned, only read; the owner calls check() when they change (after it has
    // shown the change, so that what is on screen at `finished` is final).
    ScriptedRun(JobTracker *tracker, GalleryView *gallery, QObject *parent = nullptr);

    // A new scripted run of `workflow` (an earlier one is forgotten).
    void start(const QString &workflow, const QJsonObject &extraInputs = {});
    // The workflow waiting to be submitted; empty when there is none (never started, or submitted).
    QString pendingWorkflow() const { return m_workflow; }
    QString jobId() const { return m_jobId; }
    bool isDone() const { return m_done; }

    // The pending extra inputs that `take` accepts (e.g. put into the parameter editor) are dropped here.
    void takeInputs(const std::function<bool(const QString &key, const QJsonValue &value)> &take);
    // `inputs` of a run of `workflow`, with the pending extra inputs added when it is the scripted one.
    QJsonObject withExtraInputs(const QString &workflow, QJsonObject inputs) const;

    // A job was submitted: the first one while a run is pending is the scripted one.
    void jobSubmitted(const QString &jobId);
    // Submitting `workflow` failed: when it was the scripted run, that run is over (finished("", false)).
    void submitFailed(const QString &workflow);
    // Emits finished when the scripted job is complete (see above); call it on every change of the job
    // and of the gallery.
    void check();

signals:
    void finished(const QString &jobId, bool succeeded);

private:
    JobTracker *m_tracker;
    GalleryView *m_gallery;
    QString m_workflow;   // pending: not submitted yet
    QJsonObject m_inputs; // its extra inputs not yet in the editor
    QString m_jobId;      // the submitted job
    bool m_done = false;
};

} // namespace cr::monitor
