#include "gui/client/workflowcache.h"

#include "gui/client/restclient.h"

namespace cr::monitor {

WorkflowCache::WorkflowCache(RestClient *rest, QObject *parent) : QObject(parent), m_rest(rest) { }

const WorkflowInfo *WorkflowCache::find(const QString &name) const
{
    const auto it = m_workflows.constFind(name);
    return it == m_workflows.cend() ? nullptr : &*it;
}

void WorkflowCache::request(const QString &name)
{
    if (name.isEmpty() || m_workflows.contains(name) || m_requests.contains(name))
        return;
    m_requests.insert(name);
    m_rest->getWorkflow(name, this, [this, name](Result<WorkflowInfo> r) {
        m_requests.remove(name);
        if (!r)
            return; // logged by the REST client; the next ask tries again
        const WorkflowInfo &info = *m_workflows.insert(name, *r);
        emit loaded(info, name);
    });
}

void WorkflowCache::clear()
{
    m_workflows.clear();
    m_requests.clear();
}

} // namespace cr::monitor
