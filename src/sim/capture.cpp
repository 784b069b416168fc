#include "sim/capture.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonParseError>

namespace cr::sim {

namespace {

using namespace Qt::StringLiterals;

bool fail(QString *error, const QString &message)
{
    if (error)
        *error = message;
    return false;
}

std::optional<QByteArray> readFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return std::nullopt;
    return file.readAll();
}

bool matchesRecord(const QByteArray &bytes, const QJsonObject &line)
{
    const QByteArray sha = QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex();
    return bytes.size() == line.value("len"_L1).toInteger(-1) && sha == line.value("sha256"_L1).toString().toLatin1();
}

// Fills record.binary. "file" names a kept frame (must exist and match). For long scenarios the recorder
// wrote null there and kept only some frames under "planned_file": use such a file when it is on disk and
// matches the recorded sha256, otherwise leave binary empty (the line still has len/head_hex/sha256).
bool loadBinary(const QDir &dir, CaptureRecord &record, QString *error)
{
    const QString named = record.line.value("file"_L1).toString();
    if (!named.isEmpty()) {
        const auto bytes = readFile(dir.filePath(named));
        if (!bytes)
            return fail(error, u"missing binary frame file %1"_s.arg(named));
        if (!matchesRecord(*bytes, record.line))
            return fail(error, u"binary frame file %1 does not match its len/sha256"_s.arg(named));
        record.binary = *bytes;
        record.file = named;
        return true;
    }
    const QString planned = record.line.value("planned_file"_L1).toString();
    if (planned.isEmpty() || !QFileInfo::exists(dir.filePath(planned)))
        return true;
    const auto bytes = readFile(dir.filePath(planned));
    if (bytes && matchesRecord(*bytes, record.line)) {
        record.binary = *bytes;
        record.file = planned;
    }
    return true;
}

} // namespace

QString capturesDir()
{
    const QString fromEnv = qEnvironmentVariable("CR_CAPTURES_DIR");
    if (!fromEnv.isEmpty())
        return fromEnv;
#ifdef CR_CAPTURES_DIR
    return QStringLiteral(CR_CAPTURES_DIR);
#else
    return {};
#endif
}

std::optional<Capture> Capture::load(const QString &scenario, QString *error)
{
    const QDir dir(capturesDir());
    QFile file(dir.filePath(scenario + ".jsonl"_L1));
    if (!file.open(QIODevice::ReadOnly)) {
        fail(error, u"cannot open %1: %2"_s.arg(file.fileName(), file.errorString()));
        return std::nullopt;
    }

    Capture capture;
    capture.scenario = scenario;
    int lineNo = 0;
    while (!file.atEnd()) {
        const QByteArray bytes = file.readLine().trimmed();
        ++lineNo;
        if (bytes.isEmpty())
            continue;
        QJsonParseError parseError{};
        const QJsonDocument doc = QJsonDocument::fromJson(bytes, &parseError);
        if (!doc.isObject()) {
            fail(error,
                 u"%1:%2: not a JSON object (%3)"_s.arg(file.fileName()).arg(lineNo).arg(parseError.errorString()));
            return std::nullopt;
        }
        CaptureRecord record;
        record.line = doc.object();
        record.t = record.line.value("t"_L1).toDouble();
        record.dir = record.line.value("dir"_L1).toString();
        record.conn = record.line.value("conn"_L1).toString();
        if (record.dir == "ws_in"_L1 || record.dir == "ws_out"_L1)
            record.kind = record.line.value("kind"_L1).toString();
        if (record.isText())
            record.text = record.line.value("raw"_L1).toString().toUtf8();
        if (record.isBinary() && !loadBinary(dir, record, error)) {
            if (error)
                *error = u"%1:%2: %3"_s.arg(file.fileName()).arg(lineNo).arg(*error);
            return std::nullopt;
        }
        capture.records.append(std::move(record));
    }
    if (error)
        error->clear();
    return capture;
}

QList<CaptureRecord> Capture::wsIn(const QString &conn) const
{
    QList<CaptureRecord> out;
    for (const CaptureRecord &r : records) {
        if (r.dir == "ws_in"_L1 && (conn.isEmpty() || r.conn == conn))
            out.append(r);
    }
    return out;
}

QList<CaptureRecord> Capture::http() const
{
    QList<CaptureRecord> out;
    for (const CaptureRecord &r : records) {
        if (r.dir == "http_req"_L1 || r.dir == "http_resp"_L1)
            out.append(r);
    }
    return out;
}

QStringList captureScenarios()
{
    QStringList out;
    const QFileInfoList files = QDir(capturesDir()).entryInfoList({QStringLiteral("*.jsonl")}, QDir::Files, QDir::Name);
    for (const QFileInfo &info : files)
        out.append(info.completeBaseName());
    return out;
}

} // namespace cr::sim
