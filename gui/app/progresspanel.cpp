#include "gui/app/progresspanel.h"

#include "gui/app/theme.h"
#include "gui/client/jobtracker.h"

#include <QGridLayout>
#include <QLabel>
#include <QProgressBar>

namespace cr::monitor {

ProgressPanel::ProgressPanel(QWidget *parent)
    : QWidget(parent), m_title(new QLabel(this)), m_overall(new QProgressBar(this)), m_node(new QLabel(this)),
      m_nodeBar(new QProgressBar(this))
{
    m_overall->setObjectName(QStringLiteral("overallProgress"));
    m_nodeBar->setObjectName(QStringLiteral("nodeProgress"));
    m_title->setTextFormat(Qt::RichText);
    m_overall->setRange(0, 1000);
    m_overall->setFormat(tr("%p%"));
    m_nodeBar->setFormat(tr("%v / %m"));
    auto *grid = new QGridLayout(this);
    grid->setContentsMargins(6, 4, 6, 4);
    grid->addWidget(m_title, 0, 0, 1, 2);
    grid->addWidget(new QLabel(tr("Overall"), this), 1, 0);
    grid->addWidget(m_overall, 1, 1);
    grid->addWidget(m_node, 2, 0);
    grid->addWidget(m_nodeBar, 2, 1);
    grid->setColumnStretch(1, 1);
    setJob(nullptr);
}

void ProgressPanel::setJob(const JobView *job)
{
    if (!job) {
        m_title->setText(tr("No job selected"));
        m_overall->setValue(0);
        m_node->setText(tr("Node"));
        m_nodeBar->setRange(0, 1);
        m_nodeBar->setValue(0);
        m_nodeBar->setFormat(tr("idle"));
        return;
    }
    const QColor stateColor = theme::stateColor(job->info.state, palette());
    m_title->setText(tr("<b>Job %1</b> · %2 · <span style=\"color:%3\">%4</span>")
                         .arg(job->info.id.left(8).toHtmlEscaped(),
                              (job->info.workflow.isEmpty() ? tr("(graph)") : job->info.workflow).toHtmlEscaped(),
                              stateColor.name(), jobStateName(job->info.state)));
    m_overall->setValue(int(job->overallFraction() * 1000.0 + 0.5));
    const NodeProgressView &n = job->node;
    if (n.nodeId.isEmpty()) {
        m_node->setText(tr("Node"));
        m_nodeBar->setRange(0, 1);
        m_nodeBar->setValue(isFinal(job->info.state) ? 1 : 0);
        m_nodeBar->setFormat(isFinal(job->info.state) ? tr("done") : tr("waiting"));
        return;
    }
    m_node->setText(n.name.isEmpty() ? tr("node %1").arg(n.nodeId) : n.name);
    m_node->setToolTip(tr("node %1").arg(n.nodeId));
    if (n.max > 0) {
        m_nodeBar->setRange(0, int(n.max));
        m_nodeBar->setValue(int(n.value));
        m_nodeBar->setFormat(tr("step %v of %m"));
    } else {
        m_nodeBar->setRange(0, 0); // busy indicator: a node without steps is running
        m_nodeBar->setFormat(tr("running"));
        if (isFinal(job->info.state)) {
            m_nodeBar->setRange(0, 1);
            m_nodeBar->setValue(1);
            m_nodeBar->setFormat(tr("done"));
        }
    }
}

int ProgressPanel::overallPercent() const { return m_overall->value() / 10; }

int ProgressPanel::nodeValue() const { return m_nodeBar->value(); }

int ProgressPanel::nodeMaximum() const { return m_nodeBar->maximum(); }

QString ProgressPanel::nodeText() const { return m_node->text(); }

QString ProgressPanel::titleText() const { return m_title->text(); }

} // namespace cr::monitor
