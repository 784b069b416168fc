#pragma once
// The ids of pruned jobs ("tombstones"), remembered so that they answer 410 job_expired instead of 404
// job_not_found, and so that a retry with a pruned job's client_ref does not silently create a duplicate.
// Bounded: beyond the capacity the oldest tombstones are forgotten first.

#include <QDateTime>
#include <QHash>
#include <QString>

#include <deque>

namespace cr {

struct ExpiredJob {
    QString id;
    QString clientRef; // empty when the job had none
    QDateTime prunedAt;
};

class ExpiredJobs final
{
public:
    explicit ExpiredJobs(int capacity = 10000) : m_capacity(capacity) { }

    void setCapacity(int capacity);
    int capacity() const { return m_capacity; }
    // Remembers a pruned job (newest last); the oldest tombstones beyond the capacity are dropped.
    void add(const ExpiredJob &job);
    const ExpiredJob *find(const QString &id) const;
    const ExpiredJob *findByClientRef(const QString &clientRef) const;
    int size() const { return int(m_byId.size()); }

private:
    void trim();

    int m_capacity;
    std::deque<QString> m_order; // ids, oldest first
    QHash<QString, ExpiredJob> m_byId;
    QHash<QString, QString> m_byClientRef;
};

} // namespace cr
