#pragma once
// The active workflow ([comfy] workflow) and its editable draft: the legacy /update/* calls edit the draft,
// every run takes a copy of it (so edits never leak between runs). When the store reloads the file, an
// unedited draft follows the new content; an edited one is kept and flagged stale until reset().

#include "core/config/config.h"
#include "core/workflows/workflow.h"

#include <QObject>
#include <QPointer>

#include <functional>

namespace cr {

class WorkflowStore;

class ActiveDraft final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ActiveDraft)

public:
    // initialName may not be loaded yet (missing or broken file): the draft appears when the store has it.
    ActiveDraft(WorkflowStore *store, NodeMappings mappings, const QString &initialName, QObject *parent = nullptr);

    QString name() const { return m_name; }
    bool hasDraft() const { return !m_draft.isNull(); }
    // The draft as a Workflow (a cheap copy: take one per run). Null when there is no draft.
    Workflow workflow() const { return m_draft; }
    QJsonObject draft() const { return m_draft.graph(); }
    bool isModified() const { return m_draft.graph() != m_base.graph(); }
    // The file changed or vanished on disk while the draft was edited; reset() loads the file.
    bool isStale() const { return m_stale; }
    // [node_mappings] merged for the active workflow.
    QMap<QString, QString> mappings() const { return m_mappings.forWorkflow(m_name); }
    ParameterList parameters() const { return m_draft.parameters(mappings()); }

    // Makes another workflow active with a fresh draft. unknown_workflow when the store has no such file
    // (the message carries the load error when the file exists but is broken); the current draft stays.
    Status switchTo(const QString &name);
    // Discards the edits: the draft becomes the file's current content again.
    Status reset();
    // A reload: named parameters resolve through the new [node_mappings] from now on; the draft (and its
    // edits) stays as it is.
    void setMappings(const NodeMappings &mappings);

    // Edits of the draft; each is all-or-nothing (see Workflow). unknown_workflow when there is no draft.
    Status setText(const QString &nodeId, const QString &text);
    Status setImage(const QString &nodeId, const QString &imageName);
    Status setInput(const QString &nodeId, const QString &input, const QJsonValue &value,
                    bool allowLinkOverwrite = false);
    Status setParameter(const QString &name, const QJsonValue &value, bool allowLinkOverwrite = false);
    Result<QList<InputChange>> applyInputs(const QJsonObject &inputs, bool allowLinkOverwrite = false);

signals:
    // The draft's content, the active workflow, or the modified/stale state changed.
    void draftChanged();

private:
    Status edit(const std::function<Status(Workflow &)> &change);
    Error notLoaded(const QString &name) const;
    void adopt(const Workflow &wf);
    void onStoreChanged();
    void reportMappingProblems() const;

    QPointer<WorkflowStore> m_store;
    NodeMappings m_mappings;
    QString m_name;
    Workflow m_base;  // the file content the draft started from
    Workflow m_draft; // m_base plus the edits
    bool m_stale = false;
};

} // namespace cr
