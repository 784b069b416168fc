#include "sim/fakefilestore.h"

namespace cr::sim {

bool FakeFileStore::isValidType(const QString &type)
{
    return type == u"input" || type == u"output" || type == u"temp";
}

std::optional<QString> FakeFileStore::normalisedSubfolder(const QString &subfolder)
{
    if (subfolder.startsWith(u'/') || subfolder.startsWith(u'\\'))
        return std::nullopt;
    QStringList parts;
    for (const QString &part : subfolder.split(u'/', Qt::SkipEmptyParts)) {
        if (part == u".")
            continue;
        if (part == u"..") {
            if (parts.isEmpty())
                return std::nullopt;
            parts.removeLast();
            continue;
        }
        parts.append(part);
    }
    return parts.join(u'/');
}

QString FakeFileStore::key(const QString &subfolder, const QString &name)
{
    const QString sub = normalisedSubfolder(subfolder).value_or(QString());
    return sub.isEmpty() ? name : sub + u'/' + name;
}

bool FakeFileStore::contains(const QString &type, const QString &subfolder, const QString &name) const
{
    return m_folders.value(type).contains(key(subfolder, name));
}

std::optional<QByteArray> FakeFileStore::read(const QString &type, const QString &subfolder, const QString &name) const
{
    const auto folder = m_folders.constFind(type);
    if (folder == m_folders.cend())
        return std::nullopt;
    const auto it = folder->constFind(key(subfolder, name));
    if (it == folder->cend())
        return std::nullopt;
    return *it;
}

void FakeFileStore::write(const QString &type, const QString &subfolder, const QString &name, const QByteArray &bytes)
{
    const QString k = key(subfolder, name);
    QMap<QString, QByteArray> &folder = m_folders[type];
    if (!folder.contains(k))
        m_written[type].append(k);
    folder.insert(k, bytes);
    QStringList &written = m_written[type];
    while (type != u"input" && m_maxFiles > 0 && written.size() > m_maxFiles)
        folder.remove(written.takeFirst());
}

QStringList FakeFileStore::topLevelNames(const QString &type) const
{
    QStringList names;
    const QMap<QString, QByteArray> folder = m_folders.value(type);
    for (auto it = folder.cbegin(); it != folder.cend(); ++it) {
        if (!it.key().contains(u'/'))
            names.append(it.key());
    }
    names.sort();
    return names;
}

int FakeFileStore::fileCount(const QString &type) const { return int(m_folders.value(type).size()); }

void FakeFileStore::clear(const QString &type)
{
    m_folders.remove(type);
    m_written.remove(type);
}

FakeFileStore::SaveTarget FakeFileStore::saveTarget(const QString &type, const QString &filenamePrefix) const
{
    SaveTarget target;
    const QString normal = normalisedSubfolder(filenamePrefix).value_or(QStringLiteral("ComfyUI"));
    const qsizetype slash = normal.lastIndexOf(u'/');
    target.subfolder = slash < 0 ? QString() : normal.left(slash);
    target.prefix = slash < 0 ? normal : normal.mid(slash + 1);
    int maxCounter = 0;
    const QMap<QString, QByteArray> folder = m_folders.value(type);
    const QString dir = target.subfolder.isEmpty() ? QString() : target.subfolder + u'/';
    for (auto it = folder.cbegin(); it != folder.cend(); ++it) {
        if (!it.key().startsWith(dir))
            continue;
        const QString name = it.key().mid(dir.size());
        if (name.contains(u'/') || !name.startsWith(target.prefix + u'_'))
            continue;
        const int counter = name.mid(target.prefix.size() + 1).section(u'_', 0, 0).toInt();
        maxCounter = qMax(maxCounter, counter);
    }
    target.counter = maxCounter + 1;
    return target;
}

std::optional<QString> FakeFileStore::upload(const QString &type, const QString &subfolder, const QString &filename,
                                             const QByteArray &bytes, bool overwrite)
{
    const std::optional<QString> sub = normalisedSubfolder(subfolder);
    if (!sub || filename.contains(u'/') || filename == u".." || filename == u".")
        return std::nullopt;
    QString name = filename;
    if (!overwrite) {
        const qsizetype dot = filename.lastIndexOf(u'.'); // os.path.splitext
        const QString stem = dot > 0 ? filename.left(dot) : filename;
        const QString ext = filename.mid(stem.size());
        int i = 1;
        while (const std::optional<QByteArray> existing = read(type, *sub, name)) {
            if (*existing == bytes)
                return name; // a duplicate: nothing written
            name = QStringLiteral("%1 (%2)%3").arg(stem).arg(i++).arg(ext);
        }
    }
    write(type, *sub, name, bytes);
    return name;
}

static std::pair<QString, QString> splitAnnotation(const QString &annotated, const QString &defaultType)
{
    for (const QString &type : {QStringLiteral("output"), QStringLiteral("input"), QStringLiteral("temp")}) {
        const QString suffix = QStringLiteral(" [%1]").arg(type);
        if (annotated.endsWith(suffix))
            return {annotated.chopped(suffix.size()), type};
    }
    return {annotated, defaultType};
}

bool FakeFileStore::existsAnnotated(const QString &annotated, const QString &defaultType) const
{
    return readAnnotated(annotated, defaultType).has_value();
}

std::optional<QByteArray> FakeFileStore::readAnnotated(const QString &annotated, const QString &defaultType) const
{
    const auto [path, type] = splitAnnotation(annotated, defaultType);
    const qsizetype slash = path.lastIndexOf(u'/');
    const QString sub = slash < 0 ? QString() : path.left(slash);
    if (!normalisedSubfolder(sub))
        return std::nullopt;
    return read(type, sub, path.mid(slash + 1));
}

} // namespace cr::sim
