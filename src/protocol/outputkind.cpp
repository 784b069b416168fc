#include "protocol/outputkind.h"

#include <QFileInfo>

namespace cr::protocol {

using namespace Qt::StringLiterals;

namespace {

struct Suffix {
    const char *suffix;
    const char *type;
};

// The types ComfyUI's /view answers for these extensions (Python mimetypes), plus the 3D formats.
constexpr Suffix kTypes[] = {
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"webp", "image/webp"},
    {"gif", "image/gif"},
    {"bmp", "image/bmp"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"apng", "image/apng"},
    {"avif", "image/avif"},
    {"mp4", "video/mp4"},
    {"m4v", "video/mp4"},
    {"webm", "video/webm"},
    {"mov", "video/quicktime"},
    {"mkv", "video/x-matroska"},
    {"avi", "video/x-msvideo"},
    {"flac", "audio/flac"},
    {"mp3", "audio/mpeg"},
    {"wav", "audio/wav"},
    {"ogg", "audio/ogg"},
    {"opus", "audio/opus"},
    {"m4a", "audio/mp4"},
    {"aac", "audio/aac"},
    {"glb", "model/gltf-binary"},
    {"gltf", "model/gltf+json"},
    {"obj", "model/obj"},
    {"stl", "model/stl"},
    {"ply", "application/x-ply"},
    {"fbx", "application/octet-stream"},
    {"usdz", "model/vnd.usdz+zip"},
    {"txt", "text/plain; charset=utf-8"},
    {"json", "application/json"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
};

bool isModelSuffix(const QString &suffix)
{
    static const QStringList k3d = {u"glb"_s, u"gltf"_s, u"obj"_s, u"stl"_s, u"ply"_s, u"fbx"_s, u"usdz"_s};
    return k3d.contains(suffix);
}

} // namespace

QString contentTypeForName(const QString &filename)
{
    const QString suffix = QFileInfo(filename).suffix().toLower();
    for (const Suffix &s : kTypes)
        if (suffix == QLatin1String(s.suffix))
            return QString::fromLatin1(s.type);
    return {};
}

QString outputContentType(const OutputFile &file)
{
    if (file.isInlineText())
        return u"text/plain; charset=utf-8"_s;
    const QString byName = contentTypeForName(file.filename);
    if (!byName.isEmpty())
        return byName;
    // VideoHelperSuite's "format" names a type family ("video/h264-mp4" is not a registered type).
    const QString family = file.format.section(u'/', 0, 0);
    if (family == "video"_L1)
        return u"video/mp4"_s;
    if (family == "image"_L1 && file.format.contains(u'/'))
        return file.format;
    if (family == "audio"_L1 && file.format.contains(u'/'))
        return file.format;
    return u"application/octet-stream"_s;
}

QString outputMedia(const OutputFile &file)
{
    if (file.kind == "text"_L1)
        return u"text"_s;
    if (file.kind == "3d"_L1 || isModelSuffix(QFileInfo(file.filename).suffix().toLower()))
        return u"3d"_s;
    const QString type = outputContentType(file);
    const QString family = type.section(u'/', 0, 0);
    if (family == "video"_L1)
        return u"video"_s;
    if (family == "audio"_L1 || file.kind == "audio"_L1)
        return u"audio"_s;
    if (family == "image"_L1) {
        if (type == "image/gif"_L1 || type == "image/apng"_L1 || file.animated || file.kind == "gifs"_L1)
            return u"animated"_s;
        return u"image"_s;
    }
    if (file.kind == "video"_L1)
        return u"video"_s;
    if (family == "text"_L1)
        return u"text"_s;
    return u"file"_s;
}

QString outputDownloadName(const OutputFile &file, const QString &nodeId, int index)
{
    if (!file.filename.isEmpty())
        return file.filename;
    return u"%1-%2.txt"_s.arg(nodeId.isEmpty() ? u"text"_s : nodeId).arg(index);
}

} // namespace cr::protocol
