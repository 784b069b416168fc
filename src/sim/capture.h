#pragma once
// Loader for the traffic recorded from a real ComfyUI (tests/data/comfyui-captures, see its README):
// one Capture per scenario (<scenario>.jsonl), with the exact text frames and the kept binary frames.

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace cr::sim {

// The captures folder: env CR_CAPTURES_DIR if set, else the CR_CAPTURES_DIR compile definition.
QString capturesDir();

// One jsonl line.
struct CaptureRecord {
    double t = 0;      // seconds since the scenario started
    QString dir;       // ws_open | ws_close | ws_error | ws_out | ws_in | http_req | http_resp | note
    QString conn;      // connection name (ws lines), else empty
    QString kind;      // "text" | "binary" for ws_in/ws_out, else ""
    QByteArray text;   // ws text frames: the exact raw frame (UTF-8)
    QByteArray binary; // ws binary frames: the exact frame bytes, empty when the recorder did not keep them
    QString file;      // the .bin file `binary` came from (the jsonl's "file", or a kept "planned_file")
    QJsonObject line;  // the whole jsonl object (msg, len, head_hex, sha256, metadata, ...)

    bool isText() const { return kind == QLatin1String("text"); }
    bool isBinary() const { return kind == QLatin1String("binary"); }
};

// One recorded scenario, lines in recording order.
struct Capture {
    QString scenario;
    QList<CaptureRecord> records;

    // Reads <capturesDir>/<scenario>.jsonl and the binary frames it names. Binary files are checked
    // against the recorded length and sha256; a named file that is missing or differs is an error.
    static std::optional<Capture> load(const QString &scenario, QString *error = nullptr);

    QList<CaptureRecord> wsIn(const QString &conn = {}) const; // ws_in frames in order (optionally one conn)
    QList<CaptureRecord> http() const;                         // http_req/http_resp lines in order
};

// Every scenario (*.jsonl stem) in capturesDir(), sorted.
QStringList captureScenarios();

} // namespace cr::sim
