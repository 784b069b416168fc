#include "gui/app/windowsettings.h"

#include "gui/app/connectionbar.h"
#include "gui/app/eventlogview.h"
#include "gui/app/theme.h"
#include "gui/app/workflowpanel.h"

#include <QAction>
#include <QApplication>
#include <QMainWindow>
#include <QSettings>
#include <QSignalBlocker>
#include <QSplitter>

namespace cr::monitor {

void WindowSettings::restore() const
{
    QSettings &s = *m_settings;
    QMainWindow *w = m_parts.window;
    if (s.contains(QStringLiteral("window/geometry")))
        w->restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray());
    w->restoreState(s.value(QStringLiteral("window/state")).toByteArray());
    for (const auto &[split, sizes] : m_parts.splitters)
        if (!split->restoreState(s.value(QStringLiteral("window/") + split->objectName()).toByteArray()))
            split->setSizes(sizes);
    m_parts.connection->setFields(
        s.value(QStringLiteral("connection/runner"), QStringLiteral("http://127.0.0.1:8189")).toString(),
        s.value(QStringLiteral("connection/relay")).toString(), QString());
    m_parts.follow->setChecked(s.value(QStringLiteral("view/follow"), true).toBool());
    m_parts.log->setHideProgress(s.value(QStringLiteral("view/hideProgress"), false).toBool());
    const QSignalBlocker block(m_parts.dark);
    m_parts.dark->setChecked(theme::isDark(QApplication::palette()));
}

void WindowSettings::save() const
{
    QSettings &s = *m_settings;
    s.setValue(QStringLiteral("window/geometry"), m_parts.window->saveGeometry());
    s.setValue(QStringLiteral("window/state"), m_parts.window->saveState());
    for (const auto &split : m_parts.splitters)
        s.setValue(QStringLiteral("window/") + split.first->objectName(), split.first->saveState());
    s.setValue(QStringLiteral("connection/runner"), m_parts.connection->runnerUrl());
    s.setValue(QStringLiteral("connection/relay"), m_parts.connection->relayUrl());
    if (!m_parts.workflows->currentWorkflow().isEmpty())
        s.setValue(QStringLiteral("workflow/last"), m_parts.workflows->currentWorkflow());
    s.setValue(QStringLiteral("view/dark"), m_parts.dark->isChecked());
    s.setValue(QStringLiteral("view/follow"), m_parts.follow->isChecked());
    s.setValue(QStringLiteral("view/hideProgress"), m_parts.log->hideProgress());
    s.sync();
}

QString WindowSettings::lastWorkflow() const { return m_settings->value(QStringLiteral("workflow/last")).toString(); }

} // namespace cr::monitor
