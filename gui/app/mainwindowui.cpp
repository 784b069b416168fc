// MainWindow's widgets, their layout and its menus (the wiring is in mainwindow.cpp).

#include "gui/app/backendspanel.h"
#include "gui/app/connectionbar.h"
#include "gui/app/eventlogview.h"
#include "gui/app/galleryview.h"
#include "gui/app/jobtableview.h"
#include "gui/app/mainwindow.h"
#include "gui/app/previewview.h"
#include "gui/app/progresspanel.h"
#include "gui/app/workflowpanel.h"
#include "gui/client/eventlogmodel.h"
#include "gui/client/jobtracker.h"

#include <QAction>
#include <QGroupBox>
#include <QLabel>
#include <QMenuBar>
#include <QPushButton>
#include <QSplitter>
#include <QStatusBar>
#include <QVBoxLayout>

namespace cr::monitor {

namespace {

// A titled box around a widget, flat so that it reads well in both palettes.
QGroupBox *boxed(const QString &title, QWidget *content, QWidget *parent)
{
    auto *box = new QGroupBox(title, parent);
    auto *layout = new QVBoxLayout(box);
    layout->setContentsMargins(4, 6, 4, 4);
    layout->addWidget(content);
    return box;
}

} // namespace

void MainWindow::buildUi()
{
    m_connection = new ConnectionBar(this);
    m_preview = new PreviewView(this);
    m_preview->setObjectName(QStringLiteral("preview"));
    m_progress = new ProgressPanel(this);
    m_workflowPanel = new WorkflowPanel(this);
    m_jobTable = new JobTableView(this);
    m_jobTable->setJobModel(m_jobModel);
    m_gallery = new GalleryView(this);
    m_logView = new EventLogView(m_log, this);
    m_backends = new BackendsPanel(m_rest, m_tracker, this);

    auto *previewColumn = new QWidget(this);
    auto *previewLayout = new QVBoxLayout(previewColumn);
    previewLayout->setContentsMargins(0, 0, 0, 0);
    previewLayout->setSpacing(2);
    previewLayout->addWidget(m_preview, 1);
    previewLayout->addWidget(m_progress);

    m_right = new QSplitter(Qt::Vertical, this);
    m_right->setObjectName(QStringLiteral("rightSplit"));
    m_right->addWidget(boxed(tr("Run a workflow"), m_workflowPanel, this));
    m_right->addWidget(boxed(tr("Jobs"), m_jobTable, this));
    m_right->addWidget(boxed(tr("Backends"), m_backends, this));
    m_right->setStretchFactor(0, 2);
    m_right->setStretchFactor(1, 3);
    m_right->setStretchFactor(2, 1);

    m_top = new QSplitter(Qt::Horizontal, this);
    m_top->setObjectName(QStringLiteral("topSplit"));
    m_top->addWidget(boxed(tr("Live preview"), previewColumn, this));
    m_top->addWidget(m_right);
    m_top->setStretchFactor(0, 3);
    m_top->setStretchFactor(1, 2);

    m_bottom = new QSplitter(Qt::Horizontal, this);
    m_bottom->setObjectName(QStringLiteral("bottomSplit"));
    m_bottom->addWidget(boxed(tr("Outputs"), m_gallery, this));
    m_bottom->addWidget(boxed(tr("Event log"), m_logView, this));
    m_bottom->setStretchFactor(0, 1);
    m_bottom->setStretchFactor(1, 1);

    m_vertical = new QSplitter(Qt::Vertical, this);
    m_vertical->setObjectName(QStringLiteral("verticalSplit"));
    m_vertical->addWidget(m_top);
    m_vertical->addWidget(m_bottom);
    m_vertical->setStretchFactor(0, 3);
    m_vertical->setStretchFactor(1, 1);

    auto *central = new QWidget(this);
    auto *layout = new QVBoxLayout(central);
    layout->setContentsMargins(4, 0, 4, 4);
    layout->setSpacing(4);
    layout->addWidget(m_connection);
    layout->addWidget(m_vertical, 1);
    setCentralWidget(central);

    m_statusEvents = new QLabel(this);
    m_statusPreviews = new QLabel(this);
    m_statusEvents->setContentsMargins(12, 0, 6, 0);
    m_statusPreviews->setContentsMargins(6, 0, 12, 0);
    statusBar()->addPermanentWidget(m_statusPreviews);
    statusBar()->addPermanentWidget(m_statusEvents);
    resize(1400, 900);
}

void MainWindow::buildActions()
{
    QMenu *file = menuBar()->addMenu(tr("&Runner"));
    QAction *connectAction = file->addAction(tr("&Connect"), this, &MainWindow::connectFromBar);
    connectAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
    file->addAction(tr("&Disconnect"), this, &MainWindow::disconnectFromRunner);
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu *jobs = menuBar()->addMenu(tr("&Jobs"));
    m_runAction = jobs->addAction(tr("&Run workflow"), this, &MainWindow::runCurrentWorkflow);
    m_runAction->setShortcuts({QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter)});
    m_runAction->setShortcutContext(Qt::ApplicationShortcut);
    m_cancelAction = jobs->addAction(tr("&Cancel selected job"), this, &MainWindow::cancelSelectedJob);
    m_cancelAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Period));
    m_cancelAction->setShortcutContext(Qt::ApplicationShortcut);
    jobs->addSeparator();
    m_followAction = jobs->addAction(tr("&Follow the newest job"));
    m_followAction->setCheckable(true);
    m_followAction->setChecked(true);
    m_followAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_F));
    jobs->addAction(tr("Refresh from the runner"), m_tracker, &JobTracker::refresh)->setShortcut(QKeySequence::Refresh);

    QMenu *view = menuBar()->addMenu(tr("&View"));
    m_darkAction = view->addAction(tr("&Dark palette"));
    m_darkAction->setCheckable(true);
    m_darkAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_D));
    connect(m_darkAction, &QAction::toggled, this, &MainWindow::setDarkPalette);
    view->addAction(tr("Clear the event log"), m_log, &EventLogModel::clear);

    addAction(m_runAction);
    addAction(m_cancelAction);
    m_workflowPanel->runButton()->setToolTip(
        tr("Run (%1)").arg(m_runAction->shortcut().toString(QKeySequence::NativeText)));
}

} // namespace cr::monitor
