#pragma once
// The workflow picker: the runner's workflows, an editor per named parameter of the chosen one (from
// GET /api/v1/workflows/{name}: text, integer, float, boolean) and the Run button. Emits what to run;
// the window submits it.

#include "gui/client/monitortypes.h"

#include <QJsonObject>
#include <QWidget>

#include <functional>

class QComboBox;
class QFormLayout;
class QLabel;
class QPushButton;

namespace cr::monitor {

class WorkflowPanel final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(WorkflowPanel)

public:
    explicit WorkflowPanel(QWidget *parent = nullptr);

    void setWorkflows(const QStringList &names, const QString &preferred = {});
    void setWorkflow(const WorkflowInfo &workflow); // builds the parameter editors
    QString currentWorkflow() const;
    bool selectWorkflow(const QString &name);
    const WorkflowInfo &workflow() const { return m_workflow; }

    // Values that differ from the workflow's, as POST /api/v1/jobs "inputs" (name -> value).
    QJsonObject inputs() const;
    // Sets a parameter's editor (as if typed); false when there is no such parameter.
    bool setParameter(const QString &name, const QJsonValue &value);
    int parameterCount() const { return int(m_editors.size()); }

    void setRunEnabled(bool enabled);
    void setStatus(const QString &text, bool error = false);
    QPushButton *runButton() const { return m_run; }

signals:
    void workflowSelected(const QString &name);
    void runRequested(const QString &workflow, const QJsonObject &inputs);

private:
    struct Editor {
        WorkflowParameter parameter;
        QWidget *widget = nullptr;
        std::function<QJsonValue()> read; // undefined when the text is not a valid value
        std::function<void(const QJsonValue &)> write;
    };
    Editor makeEditor(const WorkflowParameter &parameter);
    void clearEditors();

    QComboBox *m_picker;
    QWidget *m_form;
    QFormLayout *m_formLayout;
    QPushButton *m_run;
    QLabel *m_status;
    WorkflowInfo m_workflow;
    QList<Editor> m_editors;
};

} // namespace cr::monitor
