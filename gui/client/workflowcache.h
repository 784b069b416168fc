#pragma once
// The workflow descriptions (parameters, node names) the monitor has fetched from the runner, by name:
// each is asked for once (GET /api/v1/workflows/{name}, concurrent asks coalesced) and kept until clear().
// A failed fetch is forgotten, so the next ask tries again.

#include "gui/client/monitortypes.h"

#include <QHash>
#include <QObject>
#include <QSet>

namespace cr::monitor {

class RestClient;

class WorkflowCache final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(WorkflowCache)

public:
    // rest: not owned; must outlive the cache.
    explicit WorkflowCache(RestClient *rest, QObject *parent = nullptr);

    const WorkflowInfo *find(const QString &name) const; // null until loaded
    void request(const QString &name);                   // no-op when empty, loaded or in flight
    bool isPending(const QString &name) const { return m_requests.contains(name); }
    void clear(); // forget everything (another runner)

signals:
    void loaded(const cr::monitor::WorkflowInfo &workflow, const QString &name);

private:
    RestClient *m_rest;
    QHash<QString, WorkflowInfo> m_workflows;
    QSet<QString> m_requests;
};

} // namespace cr::monitor
