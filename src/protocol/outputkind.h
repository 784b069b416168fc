#pragma once
// What kind of media a job output is and the content type it is served with, from ComfyUI's output key,
// the file's extension, the item's "format" and the node's "animated" flag: one rule for the service (job
// JSON, downloads) and the monitor (what it shows).

#include "protocol/comfyevents.h"

#include <QString>

namespace cr::protocol {

// "image" | "animated" (GIF, animated WebP/PNG) | "video" | "audio" | "text" | "3d" | "file" (anything else).
QString outputMedia(const OutputFile &file);
// "image/png", "video/mp4", "audio/flac", "model/gltf-binary", "text/plain; charset=utf-8", ...;
// "application/octet-stream" when nothing says better.
QString outputContentType(const OutputFile &file);
// The content type of a file name by its extension; "" when unknown.
QString contentTypeForName(const QString &filename);
// The name a download of this output is given: the file name, or "<node>-<index>.txt" for inline text.
QString outputDownloadName(const OutputFile &file, const QString &nodeId, int index);

} // namespace cr::protocol
