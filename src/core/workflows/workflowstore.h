#pragma once
// The workflows folder: every *.json file in it is a Workflow named by its file stem. Files that fail to
// load are kept as errors (the API shows why a file was skipped). Changes on disk (new, edited, deleted,
// replaced by rename) are picked up after a short debounce and announced with changed().

#include "core/workflows/workflow.h"

#include <QFileSystemWatcher>
#include <QMap>
#include <QObject>
#include <QTimer>

#include <optional>

namespace cr {

// Why one file of the folder was not loaded.
struct WorkflowLoadError {
    QString name;               // file stem
    QString filePath;           // absolute
    Error error;                // invalid_workflow (with the parser's line/column) or internal (unreadable, too big)
    QJsonObject toJson() const; // {"name", "file", "error": {code, message, details}}
};

class WorkflowStore final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(WorkflowStore)

public:
    static constexpr qint64 MaxFileBytes = 32ll * 1024 * 1024; // larger files are reported, not read
    static constexpr int DefaultDebounceMs = 150;

    // Loads the folder at once (synchronously) and starts watching it. A missing folder gives an empty
    // store and a warning; it is picked up when it appears later.
    explicit WorkflowStore(const QString &folder, QObject *parent = nullptr);
    ~WorkflowStore() override;

    QString folder() const { return m_folder; }
    QStringList names() const { return m_workflows.keys(); } // sorted
    // The workflow of that name ("x" or "x.json"); nullopt for unknown or hostile names ("../x", "/etc/x").
    std::optional<Workflow> find(const QString &name) const;
    QList<WorkflowLoadError> errors() const { return m_errors.values(); } // sorted by name
    std::optional<WorkflowLoadError> errorFor(const QString &name) const;

    // True for names that can be a file stem inside the folder: not empty, no path separators, no
    // control characters, not starting with a dot.
    static bool isValidName(const QString &name);
    // "x.json" -> "x"; names are otherwise kept as given (trimmed).
    static QString normaliseName(const QString &name);

    void setDebounceMs(int ms) { m_debounce.setInterval(ms); }
    // Rescans now; emits changed() when the set of workflows, a file's content or an error changed.
    void reload();

signals:
    void changed();

private:
    void scheduleReload();
    void updateWatches(bool folderExists);

    QString m_folder;
    QMap<QString, Workflow> m_workflows;
    QMap<QString, WorkflowLoadError> m_errors;
    QFileSystemWatcher m_watcher;
    QTimer m_debounce;
    bool m_warnedMissing = false;
};

} // namespace cr
