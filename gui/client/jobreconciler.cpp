#include "gui/client/jobreconciler.h"

#include "gui/client/restclient.h"

#include <QTimer>

#include <utility>

namespace cr::monitor {

JobReconciler::JobReconciler(RestClient *rest, std::function<bool()> noJobsKnown, QObject *parent)
    : QObject(parent), m_rest(rest), m_noJobsKnown(std::move(noJobsKnown))
{ }

void JobReconciler::refreshList()
{
    if (m_listInFlight) {
        m_listAgain = true;
        return;
    }
    m_listInFlight = true;
    const bool initial = m_noJobsKnown && m_noJobsKnown();
    m_rest->listJobs(m_listLimit, this, [this, initial](Result<QList<JobInfo>> r) {
        m_listInFlight = false;
        if (r)
            emit listFetched(*r, initial);
        if (std::exchange(m_listAgain, false))
            refreshList();
    });
}

void JobReconciler::refreshJob(const QString &id)
{
    if (id.isEmpty())
        return;
    if (m_jobFetches.contains(id)) {
        m_jobFetches[id] = true;
        return;
    }
    m_jobFetches.insert(id, false);
    m_rest->getJob(id, this, [this, id](Result<JobInfo> r) {
        bool again = m_jobFetches.take(id);
        if (r)
            emit jobFetched(*r);
        else
            again = false; // the error is logged; the next event or refresh tries again
        if (again)
            refreshJob(id);
    });
}

void JobReconciler::confirmLater(const QString &id)
{
    int &tries = m_confirmTries[id];
    if (tries >= kMaxConfirmTries)
        return;
    ++tries;
    QTimer::singleShot(kConfirmStepMs * tries, this, [this, id] { refreshJob(id); });
}

void JobReconciler::forget(const QString &id) { m_confirmTries.remove(id); }

void JobReconciler::clear()
{
    m_jobFetches.clear();
    m_confirmTries.clear();
}

} // namespace cr::monitor
