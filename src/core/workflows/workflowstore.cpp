#include "core/workflows/workflowstore.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

namespace cr {

namespace {

const QString kSuffix = QStringLiteral(".json");

Error loadError(const QString &name, const QString &message)
{
    return Error::make(ErrorCode::InvalidWorkflow, message, {{QStringLiteral("workflow"), name}});
}

} // namespace

QJsonObject WorkflowLoadError::toJson() const
{
    return {
        {QStringLiteral("name"), name}, {QStringLiteral("file"), filePath}, {QStringLiteral("error"), error.toJson()}};
}

WorkflowStore::WorkflowStore(const QString &folder, QObject *parent)
    : QObject(parent), m_folder(QDir::cleanPath(QDir(folder).absolutePath()))
{
    m_debounce.setSingleShot(true);
    m_debounce.setInterval(DefaultDebounceMs);
    connect(&m_debounce, &QTimer::timeout, this, &WorkflowStore::reload);
    connect(&m_watcher, &QFileSystemWatcher::directoryChanged, this, &WorkflowStore::scheduleReload);
    connect(&m_watcher, &QFileSystemWatcher::fileChanged, this, &WorkflowStore::scheduleReload);
    reload();
}

WorkflowStore::~WorkflowStore() = default;

bool WorkflowStore::isValidName(const QString &name)
{
    if (name.isEmpty() || name.size() > 255 || name.startsWith(QLatin1Char('.')))
        return false;
    for (const QChar c : name) {
        if (c == QLatin1Char('/') || c == QLatin1Char('\\') || c.unicode() < 0x20 || c.unicode() == 0x7f)
            return false;
    }
    return true;
}

QString WorkflowStore::normaliseName(const QString &name)
{
    QString n = name.trimmed();
    if (n.endsWith(kSuffix, Qt::CaseInsensitive))
        n.chop(kSuffix.size());
    return n;
}

std::optional<Workflow> WorkflowStore::find(const QString &name) const
{
    const QString n = normaliseName(name);
    if (!isValidName(n))
        return std::nullopt;
    const auto it = m_workflows.constFind(n);
    if (it == m_workflows.cend())
        return std::nullopt;
    return *it;
}

std::optional<WorkflowLoadError> WorkflowStore::errorFor(const QString &name) const
{
    const QString n = normaliseName(name);
    if (!isValidName(n) || !m_errors.contains(n))
        return std::nullopt;
    return m_errors.value(n);
}

void WorkflowStore::scheduleReload()
{
    m_debounce.start(); // restarts: a burst of events (save = truncate + write + rename) gives one reload
}

void WorkflowStore::reload()
{
    m_debounce.stop();
    const QDir dir(m_folder);
    const bool exists = dir.exists();
    QMap<QString, Workflow> loaded;
    QMap<QString, WorkflowLoadError> errors;

    if (!exists) {
        if (!m_warnedMissing)
            qCWarning(lcWorkflows, "Workflows folder %s does not exist; no workflows are loaded until it does",
                      qPrintable(m_folder));
        m_warnedMissing = true;
    } else {
        m_warnedMissing = false;
        const QFileInfoList files = dir.entryInfoList({QStringLiteral("*.json")}, QDir::Files, QDir::Name);
        for (const QFileInfo &fi : files) {
            const QString name = fi.fileName().chopped(kSuffix.size());
            const QString path = fi.absoluteFilePath();
            if (!isValidName(name))
                continue;
            if (fi.size() > MaxFileBytes) {
                errors.insert(name,
                              {name, path,
                               loadError(name,
                                         QStringLiteral("Workflow file %1 is larger than "
                                                        "%2 MiB.")
                                             .arg(path)
                                             .arg(MaxFileBytes / (1024 * 1024)))});
                continue;
            }
            QFile file(path);
            if (!file.open(QIODevice::ReadOnly)) {
                errors.insert(name,
                              {name, path,
                               loadError(name,
                                         QStringLiteral("Workflow file %1 cannot be read: "
                                                        "%2.")
                                             .arg(path, file.errorString()))});
                continue;
            }
            Result<Workflow> wf = Workflow::fromJson(name, file.readAll(), path);
            if (wf)
                loaded.insert(name, std::move(wf).value());
            else
                errors.insert(name, {name, path, wf.error()});
        }
    }

    bool differs = loaded.keys() != m_workflows.keys() || errors.keys() != m_errors.keys();
    for (auto it = loaded.cbegin(); !differs && it != loaded.cend(); ++it)
        differs = it->contentHash() != m_workflows.value(it.key()).contentHash();
    for (auto it = errors.cbegin(); it != errors.cend(); ++it) {
        const bool known = m_errors.contains(it.key()) && m_errors.value(it.key()).error.message == it->error.message;
        if (!known) {
            differs = true;
            qCWarning(lcWorkflows, "Skipping workflow file %s: %s", qPrintable(it->filePath),
                      qPrintable(it->error.message));
        }
    }

    m_workflows = std::move(loaded);
    m_errors = std::move(errors);
    updateWatches(exists);
    if (differs) {
        qCInfo(lcWorkflows, "Workflows in %s: %lld loaded (%s), %lld skipped", qPrintable(m_folder),
               qlonglong(m_workflows.size()), qPrintable(m_workflows.keys().join(QStringLiteral(", "))),
               qlonglong(m_errors.size()));
        emit changed();
    }
}

void WorkflowStore::updateWatches(bool folderExists)
{
    // File watches are renewed on every scan: an editor that saves by rename leaves the old watch on a
    // deleted inode, so the same path must be watched again.
    if (!m_watcher.files().isEmpty())
        m_watcher.removePaths(m_watcher.files());
    QStringList files;
    for (const Workflow &wf : std::as_const(m_workflows))
        files.append(wf.filePath());
    for (const WorkflowLoadError &e : std::as_const(m_errors))
        files.append(e.filePath);
    if (!files.isEmpty())
        m_watcher.addPaths(files);

    // The folder itself, or (while it is missing) its parent, so that its creation is noticed.
    const QString parent = QFileInfo(m_folder).absolutePath();
    const QString wanted = folderExists ? m_folder : (QFileInfo::exists(parent) ? parent : QString());
    const QStringList dirs = m_watcher.directories();
    for (const QString &d : dirs) {
        if (d != wanted)
            m_watcher.removePath(d);
    }
    if (!wanted.isEmpty() && !m_watcher.directories().contains(wanted) && !m_watcher.addPath(wanted))
        qCWarning(lcWorkflows, "Cannot watch %s; workflow changes need a restart", qPrintable(wanted));
}

} // namespace cr
