#include "gui/app/workflowpanel.h"

#include "gui/app/theme.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpressionValidator>
#include <QScrollArea>
#include <QVBoxLayout>

namespace cr::monitor {

namespace {

bool looksLikePrompt(const WorkflowParameter &p)
{
    return p.name.contains(QLatin1String("prompt"), Qt::CaseInsensitive) || p.input == QLatin1String("text")
        || p.value.toString().size() > 40;
}

} // namespace

WorkflowPanel::WorkflowPanel(QWidget *parent)
    : QWidget(parent), m_picker(new QComboBox(this)), m_form(new QWidget), m_formLayout(new QFormLayout(m_form)),
      m_run(new QPushButton(tr("Run"), this)), m_status(new QLabel(this))
{
    m_picker->setObjectName(QStringLiteral("workflowPicker"));
    m_run->setObjectName(QStringLiteral("runButton"));
    m_run->setToolTip(tr("Run the workflow with these parameters (Ctrl+Return)"));
    m_run->setDefault(true);
    m_status->setWordWrap(true);
    m_formLayout->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    m_formLayout->setContentsMargins(0, 0, 0, 0);

    auto *scroll = new QScrollArea(this);
    scroll->setWidget(m_form);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);

    auto *top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Workflow"), this));
    top->addWidget(m_picker, 1);
    auto *bottom = new QHBoxLayout;
    bottom->addWidget(m_status, 1);
    bottom->addWidget(m_run);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 4, 6, 4);
    layout->addLayout(top);
    layout->addWidget(scroll, 1);
    layout->addLayout(bottom);

    connect(m_picker, &QComboBox::currentTextChanged, this, [this](const QString &name) {
        if (!name.isEmpty())
            emit workflowSelected(name);
    });
    connect(m_run, &QPushButton::clicked, this, [this] {
        if (currentWorkflow().isEmpty())
            return setStatus(tr("Choose a workflow first."), true);
        for (const Editor &e : m_editors)
            if (e.read().isUndefined())
                return setStatus(tr("\"%1\" is not a valid %2.").arg(e.parameter.name, e.parameter.type), true);
        emit runRequested(currentWorkflow(), inputs());
    });
    setRunEnabled(false);
}

void WorkflowPanel::setWorkflows(const QStringList &names, const QString &preferred)
{
    const QString keep = preferred.isEmpty() ? currentWorkflow() : preferred;
    {
        const QSignalBlocker block(m_picker);
        m_picker->clear();
        m_picker->addItems(names);
        const int index = m_picker->findText(keep);
        m_picker->setCurrentIndex(index >= 0 ? index : (names.isEmpty() ? -1 : 0));
    }
    if (!currentWorkflow().isEmpty())
        emit workflowSelected(currentWorkflow());
    else
        clearEditors();
}

QString WorkflowPanel::currentWorkflow() const { return m_picker->currentText(); }

bool WorkflowPanel::selectWorkflow(const QString &name)
{
    const int index = m_picker->findText(name);
    if (index < 0)
        return false;
    m_picker->setCurrentIndex(index);
    return true;
}

void WorkflowPanel::clearEditors()
{
    while (m_formLayout->rowCount() > 0)
        m_formLayout->removeRow(0);
    m_editors.clear();
}

WorkflowPanel::Editor WorkflowPanel::makeEditor(const WorkflowParameter &p)
{
    Editor e;
    e.parameter = p;
    if (p.type == QLatin1String("boolean")) {
        auto *box = new QCheckBox;
        box->setChecked(p.value.toBool());
        e.widget = box;
        e.read = [box] { return QJsonValue(box->isChecked()); };
        e.write = [box](const QJsonValue &v) { box->setChecked(v.toBool()); };
    } else if (p.type == QLatin1String("float")) {
        auto *spin = new QDoubleSpinBox;
        spin->setRange(-1e9, 1e9);
        spin->setDecimals(4);
        spin->setValue(p.value.toDouble());
        e.widget = spin;
        e.read = [spin] { return QJsonValue(spin->value()); };
        e.write = [spin](const QJsonValue &v) { spin->setValue(v.toDouble()); };
    } else if (p.type == QLatin1String("integer")) {
        // Seeds exceed an int: a line edit with a 64-bit integer check.
        auto *line = new QLineEdit(QString::number(p.value.toInteger()));
        line->setValidator(new QRegularExpressionValidator(QRegularExpression(QStringLiteral("-?\\d{1,18}")), line));
        e.widget = line;
        e.read = [line]() -> QJsonValue {
            bool ok = false;
            const qint64 v = line->text().toLongLong(&ok);
            return ok ? QJsonValue(v) : QJsonValue(QJsonValue::Undefined);
        };
        e.write = [line](const QJsonValue &v) { line->setText(QString::number(v.toInteger())); };
    } else if (p.type == QLatin1String("string") && looksLikePrompt(p)) {
        auto *text = new QPlainTextEdit(p.value.toString());
        text->setTabChangesFocus(true);
        text->setFixedHeight(text->fontMetrics().lineSpacing() * 3 + 12);
        e.widget = text;
        e.read = [text] { return QJsonValue(text->toPlainText()); };
        e.write = [text](const QJsonValue &v) { text->setPlainText(v.toString()); };
    } else if (p.type == QLatin1String("string")) {
        auto *line = new QLineEdit(p.value.toString());
        e.widget = line;
        e.read = [line] { return QJsonValue(line->text()); };
        e.write = [line](const QJsonValue &v) { line->setText(v.toString()); };
    } else { // anything else: edited as JSON
        auto *line = new QLineEdit(
            QString::fromUtf8(QJsonDocument(QJsonArray{p.value}).toJson(QJsonDocument::Compact)).mid(1).chopped(1));
        e.widget = line;
        e.read = [line]() -> QJsonValue {
            const QJsonDocument doc = QJsonDocument::fromJson("[" + line->text().toUtf8() + "]");
            return doc.isArray() && doc.array().size() == 1 ? doc.array().at(0) : QJsonValue(QJsonValue::Undefined);
        };
        e.write = [line](const QJsonValue &v) {
            line->setText(
                QString::fromUtf8(QJsonDocument(QJsonArray{v}).toJson(QJsonDocument::Compact)).mid(1).chopped(1));
        };
    }
    e.widget->setObjectName(QStringLiteral("param:") + p.name);
    e.widget->setToolTip(tr("node %1, input %2 (%3)").arg(p.nodeId, p.input, p.type));
    return e;
}

void WorkflowPanel::setWorkflow(const WorkflowInfo &workflow)
{
    if (workflow.name != currentWorkflow())
        return; // an answer for a workflow no longer chosen
    clearEditors();
    m_workflow = workflow;
    for (const WorkflowParameter &p : workflow.parameters) {
        Editor e = makeEditor(p);
        m_formLayout->addRow(p.name, e.widget);
        m_editors.append(std::move(e));
    }
    if (m_editors.isEmpty())
        m_formLayout->addRow(new QLabel(tr("This workflow has no named parameters.")));
    setStatus(tr("%n parameter(s)", nullptr, int(m_editors.size())));
}

QJsonObject WorkflowPanel::inputs() const
{
    QJsonObject out;
    for (const Editor &e : m_editors) {
        const QJsonValue v = e.read();
        if (!v.isUndefined() && v != e.parameter.value)
            out.insert(e.parameter.name, v);
    }
    return out;
}

bool WorkflowPanel::setParameter(const QString &name, const QJsonValue &value)
{
    for (const Editor &e : m_editors) {
        if (e.parameter.name == name) {
            e.write(value);
            return true;
        }
    }
    return false;
}

void WorkflowPanel::setRunEnabled(bool enabled) { m_run->setEnabled(enabled); }

void WorkflowPanel::setStatus(const QString &text, bool error)
{
    m_status->setText(text);
    QPalette p = m_status->palette();
    p.setColor(QPalette::WindowText, error ? theme::errorColor(palette()) : palette().color(QPalette::PlaceholderText));
    m_status->setPalette(p);
}

} // namespace cr::monitor
