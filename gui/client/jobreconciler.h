#pragma once
// Corrects the monitor's job picture from the runner's REST API: the job list (GET /api/v1/jobs, one
// request at a time, a refresh asked for meanwhile runs once after it) and single job records
// (GET /api/v1/jobs/{id}, coalesced per job the same way). A job the relay saw end before its record did
// is asked for again with a growing delay, a bounded number of times (confirmLater). What the answers
// mean for the jobs is the caller's.

#include "gui/client/monitortypes.h"

#include <QHash>
#include <QObject>

#include <functional>

namespace cr::monitor {

class RestClient;

class JobReconciler final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(JobReconciler)

public:
    static constexpr int kMaxConfirmTries = 8;
    static constexpr int kConfirmStepMs = 200; // the n-th re-ask waits n * this

    // rest: not owned; must outlive the reconciler. noJobsKnown: asked as each list request starts; its
    // answer comes back as listFetched's initial (the first list of a runner feeds the gallery).
    JobReconciler(RestClient *rest, std::function<bool()> noJobsKnown, QObject *parent = nullptr);

    void setListLimit(int count) { m_listLimit = qBound(1, count, 500); }
    int listLimit() const { return m_listLimit; }

    void refreshList();                 // GET /api/v1/jobs?limit=N (coalesced)
    void refreshJob(const QString &id); // GET /api/v1/jobs/{id} (coalesced)
    // The job's record is not final yet though the relay said it ended: ask again later, at most
    // kMaxConfirmTries times in all.
    void confirmLater(const QString &id);
    void forget(const QString &id); // the record is final or the job went: no more re-asks counted
    void clear();                   // another runner: forget fetches and re-ask counts
    int confirmTries(const QString &id) const { return m_confirmTries.value(id); }

signals:
    void listFetched(const QList<cr::monitor::JobInfo> &jobs, bool initial); // newest first
    void jobFetched(const cr::monitor::JobInfo &job);

private:
    RestClient *m_rest;
    std::function<bool()> m_noJobsKnown;
    QHash<QString, bool> m_jobFetches;  // in flight -> fetch again when it returns
    QHash<QString, int> m_confirmTries; // re-asks for a final job record not yet final on the runner
    int m_listLimit = 50;
    bool m_listInFlight = false;
    bool m_listAgain = false;
};

} // namespace cr::monitor
