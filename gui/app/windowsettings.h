#pragma once
// The monitor window's persisted state in its QSettings: geometry, dock and splitter layout (with first-start
// sizes), the last connection and workflow, and the view toggles. Holds pointers to the widgets it reads and
// writes; they belong to the window.

#include <QList>
#include <QPair>
#include <QString>

#include <utility>

class QAction;
class QMainWindow;
class QSettings;
class QSplitter;

namespace cr::monitor {

class ConnectionBar;
class EventLogView;
class WorkflowPanel;

struct WindowParts {
    QMainWindow *window = nullptr;
    QList<QPair<QSplitter *, QList<int>>> splitters; // each with its sizes on first start
    ConnectionBar *connection = nullptr;
    WorkflowPanel *workflows = nullptr;
    EventLogView *log = nullptr;
    QAction *follow = nullptr;
    QAction *dark = nullptr;
};

class WindowSettings final
{
public:
    WindowSettings(QSettings *settings, WindowParts parts) : m_settings(settings), m_parts(std::move(parts)) { }

    void restore() const;
    void save() const;
    QString lastWorkflow() const;

private:
    QSettings *m_settings; // not owned
    WindowParts m_parts;
};

} // namespace cr::monitor
