#include "core/jobs/expiredjobs.h"

#include <algorithm>

namespace cr {

void ExpiredJobs::setCapacity(int capacity)
{
    m_capacity = std::max(0, capacity);
    trim();
}

void ExpiredJobs::add(const ExpiredJob &job)
{
    if (m_capacity <= 0 || job.id.isEmpty())
        return;
    if (!m_byId.contains(job.id))
        m_order.push_back(job.id);
    m_byId.insert(job.id, job);
    if (!job.clientRef.isEmpty())
        m_byClientRef.insert(job.clientRef, job.id);
    trim();
}

const ExpiredJob *ExpiredJobs::find(const QString &id) const
{
    const auto it = m_byId.constFind(id);
    return it == m_byId.cend() ? nullptr : &*it;
}

const ExpiredJob *ExpiredJobs::findByClientRef(const QString &clientRef) const
{
    return clientRef.isEmpty() ? nullptr : find(m_byClientRef.value(clientRef));
}

void ExpiredJobs::trim()
{
    while (qsizetype(m_order.size()) > m_capacity) {
        const ExpiredJob gone = m_byId.take(m_order.front());
        m_order.pop_front();
        if (!gone.clientRef.isEmpty() && m_byClientRef.value(gone.clientRef) == gone.id)
            m_byClientRef.remove(gone.clientRef);
    }
}

} // namespace cr
