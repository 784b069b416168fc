#pragma once
// The fake ComfyUI's input/, output/ and temp/ folders, in memory: SaveImage's file naming
// (folder_paths.get_save_image_path), upload renaming (server.py: image_upload) and /view look-ups.

#include <QByteArray>
#include <QDateTime>
#include <QMap>
#include <QString>
#include <QStringList>

#include <optional>

namespace cr::sim {

class FakeFileStore
{
public:
    static bool isValidType(const QString &type); // input | output | temp

    // Normalises "a/./b" to "a/b"; nullopt when the path escapes its folder ("..", absolute).
    static std::optional<QString> normalisedSubfolder(const QString &subfolder);

    bool contains(const QString &type, const QString &subfolder, const QString &name) const;
    std::optional<QByteArray> read(const QString &type, const QString &subfolder, const QString &name) const;
    void write(const QString &type, const QString &subfolder, const QString &name, const QByteArray &bytes);
    // output/ and temp/ keep at most this many files (the oldest go first) so that long benchmark runs do
    // not grow without bound; input/ is never trimmed.
    void setMaxFiles(int count) { m_maxFiles = count; }
    QStringList topLevelNames(const QString &type) const; // files directly in the folder, sorted
    int fileCount(const QString &type) const;
    void clear(const QString &type);

    // SaveImage: splits "sub/prefix" and returns the first free counter (max existing + 1).
    struct SaveTarget {
        QString subfolder;
        QString prefix;
        int counter = 1;
    };
    SaveTarget saveTarget(const QString &type, const QString &filenamePrefix) const;

    // POST /upload/image rules: same name + same bytes = the existing name, different bytes = "name (1).png",
    // overwrite replaces. Returns the final name, or nullopt for a path escape (400).
    std::optional<QString> upload(const QString &type, const QString &subfolder, const QString &filename,
                                  const QByteArray &bytes, bool overwrite);

    // folder_paths.exists_annotated_filepath: "sub/name.png", optionally ending in " [input]" etc.
    bool existsAnnotated(const QString &annotated, const QString &defaultType = QStringLiteral("input")) const;
    // Reads an annotated name ("sub/x.png [output]") the same way.
    std::optional<QByteArray> readAnnotated(const QString &annotated,
                                            const QString &defaultType = QStringLiteral("input")) const;

private:
    static QString key(const QString &subfolder, const QString &name);
    QMap<QString, QMap<QString, QByteArray>> m_folders; // type -> "sub/name" -> bytes
    QMap<QString, QStringList> m_written;               // type -> keys, oldest first
    int m_maxFiles = 1000;
};

} // namespace cr::sim
