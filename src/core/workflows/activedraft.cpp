#include "core/workflows/activedraft.h"

#include "core/workflows/workflowstore.h"

namespace cr {

ActiveDraft::ActiveDraft(WorkflowStore *store, NodeMappings mappings, const QString &initialName, QObject *parent)
    : QObject(parent), m_store(store), m_mappings(std::move(mappings)),
      m_name(WorkflowStore::normaliseName(initialName))
{
    Q_ASSERT(store);
    connect(store, &WorkflowStore::changed, this, &ActiveDraft::onStoreChanged);
    if (const std::optional<Workflow> wf = store->find(m_name)) {
        adopt(*wf);
    } else {
        qCWarning(lcWorkflows, "Active workflow: %s", qPrintable(notLoaded(m_name).message));
    }
}

Error ActiveDraft::notLoaded(const QString &name) const
{
    const QJsonObject details{{QStringLiteral("workflow"), name}};
    if (m_store) {
        if (const std::optional<WorkflowLoadError> e = m_store->errorFor(name)) {
            return Error::make(ErrorCode::UnknownWorkflow,
                               QStringLiteral("Workflow '%1' could not be loaded: %2").arg(name, e->error.message),
                               details);
        }
    }
    return Error::make(ErrorCode::UnknownWorkflow,
                       QStringLiteral("There is no workflow '%1' in %2.")
                           .arg(name, m_store ? m_store->folder() : QStringLiteral("the workflows folder")),
                       details);
}

void ActiveDraft::adopt(const Workflow &wf)
{
    m_base = wf;
    m_draft = wf;
    m_stale = false;
    reportMappingProblems();
}

void ActiveDraft::reportMappingProblems() const
{
    const ParameterList params = m_draft.parameters(mappings());
    for (const Error &e : params.problems) {
        if (e.is(ErrorCode::UnknownNode))
            qCWarning(lcWorkflows, "Workflow %s: %s", qPrintable(m_name), qPrintable(e.message));
        else
            qCDebug(lcWorkflows, "Workflow %s: %s", qPrintable(m_name), qPrintable(e.message));
    }
}

Status ActiveDraft::switchTo(const QString &name)
{
    const QString n = WorkflowStore::normaliseName(name);
    const std::optional<Workflow> wf = m_store ? m_store->find(n) : std::nullopt;
    if (!wf)
        return notLoaded(n);
    m_name = n;
    adopt(*wf);
    qCInfo(lcWorkflows, "Active workflow is now %s", qPrintable(m_name));
    emit draftChanged();
    return std::nullopt;
}

Status ActiveDraft::reset()
{
    const std::optional<Workflow> wf = m_store ? m_store->find(m_name) : std::nullopt;
    if (!wf)
        return notLoaded(m_name);
    adopt(*wf);
    emit draftChanged();
    return std::nullopt;
}

void ActiveDraft::setMappings(const NodeMappings &mappings)
{
    if (mappings.global == m_mappings.global && mappings.perWorkflow == m_mappings.perWorkflow)
        return;
    m_mappings = mappings;
    if (hasDraft())
        reportMappingProblems();
    emit draftChanged(); // its parameters changed
}

Status ActiveDraft::edit(const std::function<Status(Workflow &)> &change)
{
    if (!hasDraft())
        return notLoaded(m_name);
    const QJsonObject before = m_draft.graph();
    if (Status bad = change(m_draft))
        return bad;
    if (m_draft.graph() != before)
        emit draftChanged();
    return std::nullopt;
}

Status ActiveDraft::setText(const QString &nodeId, const QString &text)
{
    return edit([&](Workflow &wf) { return wf.setText(nodeId, text); });
}

Status ActiveDraft::setImage(const QString &nodeId, const QString &imageName)
{
    return edit([&](Workflow &wf) { return wf.setImage(nodeId, imageName); });
}

Status ActiveDraft::setInput(const QString &nodeId, const QString &input, const QJsonValue &value,
                             bool allowLinkOverwrite)
{
    return edit([&](Workflow &wf) { return wf.setInput(nodeId, input, value, allowLinkOverwrite); });
}

Status ActiveDraft::setParameter(const QString &name, const QJsonValue &value, bool allowLinkOverwrite)
{
    const QMap<QString, QString> m = mappings();
    return edit([&](Workflow &wf) { return wf.setParameter(name, value, m, allowLinkOverwrite); });
}

Result<QList<InputChange>> ActiveDraft::applyInputs(const QJsonObject &inputs, bool allowLinkOverwrite)
{
    const QMap<QString, QString> m = mappings();
    QList<InputChange> changes;
    const Status bad = edit([&](Workflow &wf) -> Status {
        Result<QList<InputChange>> r = wf.applyInputs(inputs, m, allowLinkOverwrite);
        if (!r)
            return r.error();
        changes = std::move(r).value();
        return std::nullopt;
    });
    if (bad)
        return *bad;
    return changes;
}

void ActiveDraft::onStoreChanged()
{
    const std::optional<Workflow> fresh = m_store ? m_store->find(m_name) : std::nullopt;
    if (!hasDraft()) {
        if (fresh) {
            qCInfo(lcWorkflows, "Active workflow %s is now available", qPrintable(m_name));
            adopt(*fresh);
            emit draftChanged();
        }
        return;
    }
    const bool fileChanged = !fresh || fresh->contentHash() != m_base.contentHash();
    if (!fileChanged) {
        if (m_stale) { // the file went back to what the draft started from
            m_stale = false;
            emit draftChanged();
        }
        return;
    }
    if (fresh && !isModified()) {
        qCInfo(lcWorkflows, "Active workflow %s reloaded from disk", qPrintable(m_name));
        adopt(*fresh);
        emit draftChanged();
        return;
    }
    if (!m_stale) {
        m_stale = true;
        qCWarning(lcWorkflows, "Active workflow %s %s on disk; the %s draft is kept (reset to load the file)",
                  qPrintable(m_name), fresh ? "changed" : "was removed or broke", isModified() ? "edited" : "current");
        emit draftChanged();
    }
}

} // namespace cr
