#pragma once
// Typed ComfyUI WebSocket JSON events (docs/comfyui-protocol.md §3.4).
// Every text frame is parsed once, at the edge, into a ComfyEvent; the rest of the program (service and
// monitor) works with these structs. Unknown types are kept (type Unknown, raw bytes intact), never dropped.

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QMetaType>
#include <QString>
#include <QStringList>

#include <optional>
#include <variant>

namespace cr::protocol {

enum class EventType {
    Status,
    ExecutionStart,
    ExecutionCached,
    Executing,
    Progress,
    ProgressState,
    Executed,
    ExecutionSuccess,
    ExecutionError,
    ExecutionInterrupted,
    FeatureFlags,
    Unknown,
};

// "status": queue changes (broadcast) and the first frame after connect (which carries sid).
struct StatusEvent {
    int queueRemaining = 0;
    QString sid; // only in the connect frame
};

struct ExecutionStartEvent {
    QString promptId;
    qint64 timestamp = 0;
};

struct ExecutionCachedEvent {
    QString promptId;
    QStringList nodes;
    qint64 timestamp = 0;
};

// "executing": a node starts; node == null (finished == true) marks the prompt's completion.
// The reconnect hint has a node but no prompt_id (promptId empty).
struct ExecutingEvent {
    QString promptId;
    QString node;
    QString displayNode;
    bool finished = false; // node was JSON null

    // The frame ComfyUI sends right after a reconnect while a node runs: a node, but no prompt_id.
    bool isReconnectHint() const { return !finished && promptId.isEmpty() && !node.isEmpty(); }
};

struct ProgressEvent {
    QString promptId;
    QString node;
    double value = 0;
    double max = 0;
};

struct NodeProgress {
    QString nodeId;
    QString displayNodeId;
    QString realNodeId;
    QString parentNodeId; // empty when JSON null
    QString state;        // "running" | "finished" | ...
    double value = 0;
    double max = 0;
};

struct ProgressStateEvent {
    QString promptId;
    QList<NodeProgress> nodes; // ordered by node-id string (QJsonObject sorts keys; "10" < "9")
};

// One output of a node's UI dict: a file under images, gifs, video, audio, 3d... (kind = the output key), or
// one string of a "text" output (filename empty, the string in `text`). Fields are kept as sent (type may be
// empty; /view then defaults to "output"); outputkind.h says what media and content type it is.
struct OutputFile {
    QString kind; // "images", "gifs", "audio", "video", "3d", "text", ...
    QString filename;
    QString subfolder;
    QString type;          // "output" | "temp" | "input"
    QString format;        // the item's "format" when it has one (VideoHelperSuite: "video/h264-mp4", "image/gif")
    bool animated = false; // the node's dict also says "animated": [true] (SaveAnimatedWEBP, SaveWEBM, ...)
    QString text;          // kind "text" without a file: the string itself
    bool isInlineText() const { return filename.isEmpty() && kind == QLatin1String("text"); }
    bool operator==(const OutputFile &) const = default;
};

// Collects the outputs of a UI output dict ({"images": [{filename, subfolder, type}], ...}): every object
// with a string "filename" inside any array value, and every string of the "text" array, in key order then
// array order. Other values ("animated": [true], 3D "result" paths) are not outputs.
QList<OutputFile> outputFilesFrom(const QJsonObject &uiOutput);

struct ExecutedEvent {
    QString promptId;
    QString node;
    QString displayNode;
    QJsonObject output;      // the UI dict as sent (empty when null)
    QList<OutputFile> files; // outputFilesFrom(output)
};

struct ExecutionSuccessEvent {
    QString promptId;
    qint64 timestamp = 0;
};

struct ExecutionErrorEvent {
    QString promptId;
    QString nodeId;
    QString nodeType;
    QString exceptionMessage;
    QString exceptionType;
    QStringList traceback;
    QStringList executed;
    qint64 timestamp = 0;
    bool terminal = false;      // only frames with a timestamp end the prompt (ExecutionBlocked has none)
    bool blocked = false;       // exception_type "ExecutionBlocked": informational, the run goes on
    QStringList currentOutputs; // ids of nodes with cached outputs when the run started
};

struct ExecutionInterruptedEvent {
    QString promptId;
    QString nodeId;
    QString nodeType;
    QStringList executed;
    qint64 timestamp = 0;
};

// "feature_flags": the server's reply to our flags (the client's own message has the same shape).
struct FeatureFlagsEvent {
    bool supportsPreviewMetadata = false; // only JSON true counts, as in ComfyUI
    double maxUploadSize = 0;             // bytes; an int by default, a float with --max-upload-size
    // A newer ComfyUI: POST /api/jobs/{prompt_id}/cancel exists (JSON true only; absent in 0.8).
    bool supportsJobCancel = false;
};

using EventPayload
    = std::variant<std::monostate, StatusEvent, ExecutionStartEvent, ExecutionCachedEvent, ExecutingEvent,
                   ProgressEvent, ProgressStateEvent, ExecutedEvent, ExecutionSuccessEvent, ExecutionErrorEvent,
                   ExecutionInterruptedEvent, FeatureFlagsEvent>;

// One parsed text frame.
struct ComfyEvent {
    EventType type = EventType::Unknown;
    QString typeName; // the "type" string exactly as sent
    QString promptId; // data.prompt_id when present, else empty
    QJsonObject data; // the "data" object
    QByteArray raw;   // the exact frame bytes, for byte-identical relaying
    EventPayload payload;

    template <typename T>
    const T *as() const
    {
        return std::get_if<T>(&payload);
    }
};

// Parses one text frame (UTF-8 bytes). The JSON is parsed once; `raw` shares the caller's buffer (no
// copy). Returns nullopt (and sets *error) only when the frame is not a JSON object with a string
// "type"; a known type with missing or mistyped fields still parses, with defaults. "data" that is not
// an object is treated as {}; without "data" the other members are the data (a flat event such as the
// Python project's image_generated). Node ids sent as numbers are turned into strings.
std::optional<ComfyEvent> parseTextFrame(const QByteArray &frame, QString *error = nullptr);
// The same for a frame already parsed into `root` (an enveloped event's "event" object), without parsing
// it again; `raw` is kept as the event's bytes (may be empty when the caller has none).
std::optional<ComfyEvent> parseEventObject(const QJsonObject &root, const QByteArray &raw = {},
                                           QString *error = nullptr);

EventType eventTypeFromName(const QString &name); // Unknown for anything not in §3.4 (also "logs")
QString eventTypeName(EventType type);            // the wire name; "" for Unknown

} // namespace cr::protocol

Q_DECLARE_METATYPE(cr::protocol::ComfyEvent)
