#include "protocol/relaycontrol.h"

#include "protocol/jsonutil.h"
#include "protocol/relaywire_p.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QtEndian>

namespace cr::protocol {

using namespace Qt::StringLiterals;
using detail::controlMessage;
using detail::nonNegativeInteger;
using detail::nullOrString;

namespace {

constexpr qsizetype kHeaderSize = 8;

// A relay number the client reads leniently: 0 when missing or mistyped.
qint64 countOf(const QJsonValue &v) { return nonNegativeInteger(v).value_or(0); }

} // namespace

QByteArray encodeRelayWelcome(const QString &type, const RelaySubscription &subscription, qint64 lastSeq,
                              std::optional<qint64> replaySince, qint64 replayCount)
{
    QJsonObject data{{"protocol"_L1, kRelayProtocolVersion},
                     {"subscription"_L1, subscription.toJson()},
                     {"last_seq"_L1, double(lastSeq)}};
    if (replaySince)
        data.insert("replay"_L1, QJsonObject{{"since"_L1, double(*replaySince)}, {"count"_L1, double(replayCount)}});
    return controlMessage(type.toLatin1().constData(), data);
}

QByteArray encodeRelayError(const RelayMessageError &error)
{
    QJsonObject data{{"code"_L1, error.code}, {"message"_L1, error.message}};
    if (!error.request.isEmpty())
        data.insert("request"_L1, error.request);
    if (error.code == QLatin1String(RelayErrorCode::UnsupportedProtocol))
        data.insert("supported"_L1, QJsonArray{kRelayProtocolVersion});
    return controlMessage("relay_error", data);
}

QByteArray encodeRelayGap(qint64 since, qint64 firstSeq, qint64 lastSeq, const QString &reason)
{
    return controlMessage("relay_gap",
                          QJsonObject{{"since"_L1, double(since)},
                                      {"first_seq"_L1, double(firstSeq)},
                                      {"last_seq"_L1, double(lastSeq)},
                                      {"reason"_L1, reason}});
}

QByteArray encodeRelayPong(const QJsonValue &id, qint64 lastSeq)
{
    return controlMessage("relay_pong", QJsonObject{{"id"_L1, id}, {"last_seq"_L1, double(lastSeq)}});
}

std::optional<RelayControlMessage> parseRelayControl(const QString &type, const QJsonObject &data)
{
    if (type == "relay_welcome"_L1 || type == "relay_subscribed"_L1) {
        RelayWelcome w;
        w.type = type;
        w.protocol = int(countOf(data.value("protocol"_L1)));
        RelaySubscriptionUpdate update;
        QString why;
        if (detail::readSubscription(data.value("subscription"_L1).toObject(), update, &why))
            update.applyTo(w.subscription);
        w.lastSeq = countOf(data.value("last_seq"_L1));
        if (data.value("replay"_L1).isObject()) {
            const QJsonObject replay = data.value("replay"_L1).toObject();
            w.replaySince = countOf(replay.value("since"_L1));
            w.replayCount = countOf(replay.value("count"_L1));
        }
        return w;
    }
    if (type == "relay_gap"_L1)
        return RelayGap{countOf(data.value("since"_L1)), countOf(data.value("first_seq"_L1)),
                        countOf(data.value("last_seq"_L1)), data.value("reason"_L1).toString()};
    if (type == "relay_pong"_L1)
        return RelayPong{data.value("id"_L1), countOf(data.value("last_seq"_L1))};
    if (type == "relay_error"_L1)
        return RelayMessageError{data.value("code"_L1).toString(), data.value("message"_L1).toString(),
                                 data.value("request"_L1).toString()};
    return std::nullopt;
}

std::optional<RelayControlMessage> parseRelayControl(const QByteArray &text)
{
    const QJsonObject o = QJsonDocument::fromJson(text).object();
    if (!o.value("type"_L1).isString())
        return std::nullopt;
    return parseRelayControl(o.value("type"_L1).toString(), o.value("data"_L1).toObject());
}

QByteArray encodeRelayEnvelope(qint64 seq, qint64 timestampMs, const QString &type, const QString &jobId,
                               const QString &promptId, const QByteArray &rawEvent, const QString &backend)
{
    QByteArray out;
    out.reserve(rawEvent.size() + 160);
    out.append("{\"seq\":").append(QByteArray::number(seq));
    out.append(",\"ts\":").append(QByteArray::number(timestampMs));
    out.append(",\"type\":").append(jsonStringLiteral(type));
    out.append(",\"job_id\":").append(nullOrString(jobId));
    out.append(",\"prompt_id\":").append(nullOrString(promptId));
    out.append(",\"backend\":").append(nullOrString(backend));
    out.append(",\"event\":").append(rawEvent).append('}');
    return out;
}

std::optional<RelayEnvelope> parseRelayEnvelope(const QByteArray &text)
{
    const QJsonDocument doc = QJsonDocument::fromJson(text);
    if (!doc.isObject())
        return std::nullopt;
    const QJsonObject o = doc.object();
    const auto seq = nonNegativeInteger(o.value("seq"_L1));
    const auto ts = nonNegativeInteger(o.value("ts"_L1));
    const QJsonValue job = o.value("job_id"_L1), prompt = o.value("prompt_id"_L1);
    if (!seq || !ts || !o.value("type"_L1).isString() || !o.value("event"_L1).isObject()
        || !(job.isString() || job.isNull()) || !(prompt.isString() || prompt.isNull()))
        return std::nullopt;
    return RelayEnvelope{*seq,
                         *ts,
                         o.value("type"_L1).toString(),
                         job.toString(),
                         prompt.toString(),
                         o.value("event"_L1).toObject(),
                         o.value("backend"_L1).toString()};
}

QByteArray encodeRelayPreviewType4(const PreviewMetadata &meta, const QString &jobId, ImageFormat format,
                                   const QByteArray &image, const QString &backend)
{
    // ComfyUI's metadata (written by the shared encoder) with backend and then job_id as its last keys.
    return encodePreviewType4(
        meta, format, image,
        QByteArray("\"backend\": " + nullOrString(backend) + ", \"job_id\": " + nullOrString(jobId)));
}

std::optional<RelayPreview> parseRelayPreview(const QByteArray &frame)
{
    auto parsed = parseBinaryFrame(frame);
    if (!parsed || !parsed->preview)
        return std::nullopt;
    RelayPreview out{std::move(*parsed->preview), {}};
    if (parsed->type == quint32(BinaryEventType::PreviewImageWithMetadata)) {
        const qsizetype len = qFromBigEndian<quint32>(frame.constData() + 4);
        const QJsonObject meta = QJsonDocument::fromJson(frame.mid(kHeaderSize, len)).object();
        out.jobId = meta.value("job_id"_L1).toString();
        out.backend = meta.value("backend"_L1).toString();
    }
    return out;
}

} // namespace cr::protocol
