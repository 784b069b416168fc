#pragma once
// The relay's messages to its clients (docs/relay-protocol.md §5-§7), encoders and decoders side by side:
// the control messages (relay_welcome / relay_subscribed, relay_error, relay_gap, relay_pong), the envelope
// of a JSON event and the type-4 preview frame with job_id. The service encodes, the monitor decodes.

#include "protocol/binaryframe.h"
#include "protocol/relaysubscription.h"

#include <QByteArray>
#include <QJsonObject>
#include <QJsonValue>
#include <QString>

#include <optional>
#include <variant>

namespace cr::protocol {

// Relay -> client control messages, all {"type": "relay_...", "data": {...}}; never enveloped, no seq.
// relay_welcome answers hello and relay_subscribed answers subscribe: protocol, the effective
// subscription, last_seq (the newest event's seq) and, after hello with since, replay {since, count}.
QByteArray encodeRelayWelcome(const QString &type, const RelaySubscription &subscription, qint64 lastSeq,
                              std::optional<qint64> replaySince = {}, qint64 replayCount = 0);
QByteArray encodeRelayError(const RelayMessageError &error);
// relay_gap: the client asked for events after `since` but some are gone (reason "evicted": older than
// the ring; "unknown_seq": since is newer than anything published, e.g. after a service restart).
// first_seq is the first event that follows, last_seq the newest one.
QByteArray encodeRelayGap(qint64 since, qint64 firstSeq, qint64 lastSeq, const QString &reason);
QByteArray encodeRelayPong(const QJsonValue &id, qint64 lastSeq);

// The decoded control messages.
struct RelayWelcome {
    QString type = QStringLiteral("relay_welcome"); // or "relay_subscribed"
    int protocol = 0;
    RelaySubscription subscription;
    qint64 lastSeq = 0;
    std::optional<qint64> replaySince; // set after hello with since
    qint64 replayCount = 0;
    bool operator==(const RelayWelcome &) const = default;
};
struct RelayGap {
    qint64 since = 0;
    qint64 firstSeq = 0;
    qint64 lastSeq = 0;
    QString reason; // "evicted" | "unknown_seq"
    bool operator==(const RelayGap &) const = default;
};
struct RelayPong {
    QJsonValue id; // the ping's id, as sent
    qint64 lastSeq = 0;
    bool operator==(const RelayPong &) const = default;
};
// relay_error decodes to RelayMessageError {code, message, request}.
using RelayControlMessage = std::variant<RelayWelcome, RelayGap, RelayPong, RelayMessageError>;

// A control message from an already parsed frame (its "type" and "data"): nullopt for any other type.
// Lenient like a client should be: a missing or mistyped number reads as 0, a missing string as "", an
// unreadable subscription as the defaults.
std::optional<RelayControlMessage> parseRelayControl(const QString &type, const QJsonObject &data);
std::optional<RelayControlMessage> parseRelayControl(const QByteArray &text);

// The envelope of a JSON event: {"seq":N,"ts":MS,"type":T,"job_id":J|null,"prompt_id":P|null,
// "backend":B|null,"event":<the event's exact bytes>}. ts = milliseconds since the epoch when the relay got
// the event; backend = the ComfyUI backend it came from (null for the service's own events).
QByteArray encodeRelayEnvelope(qint64 seq, qint64 timestampMs, const QString &type, const QString &jobId,
                               const QString &promptId, const QByteArray &rawEvent, const QString &backend = {});
struct RelayEnvelope {
    qint64 seq = 0;
    qint64 timestampMs = 0;
    QString type;
    QString jobId;    // empty for null
    QString promptId; // empty for null
    QJsonObject event;
    QString backend; // empty for null (or absent: an older runner) // parsed once; protocol::parseEventObject() types
                     // it without parsing again
};
std::optional<RelayEnvelope> parseRelayEnvelope(const QByteArray &text);

// Type-4 preview frame with "backend" and "job_id" (the last key) added to ComfyUI's metadata JSON (after its
// keys, same style); empty values are written as null. ComfyUI's own parsers read it as a normal type-4 frame.
QByteArray encodeRelayPreviewType4(const PreviewMetadata &meta, const QString &jobId, ImageFormat format,
                                   const QByteArray &image, const QString &backend = {});
struct RelayPreview {
    PreviewFrame frame;
    QString jobId;   // from the metadata's job_id; empty for type 1 or null
    QString backend; // from the metadata's backend; empty for type 1, null or absent
};
std::optional<RelayPreview> parseRelayPreview(const QByteArray &frame);

} // namespace cr::protocol
