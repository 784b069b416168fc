#pragma once
// The relay's wire protocol, client side of the conversation (docs/relay-protocol.md §4): close codes,
// subscription options (query parameters and the hello/subscribe messages), the client's messages and why
// one is refused. Parsing validates everything; encoders write compact JSON. The relay's own messages to
// its clients are in relaycontrol.h.

#include <QByteArray>
#include <QJsonObject>
#include <QSet>
#include <QString>
#include <QStringList>
#include <QUrlQuery>

#include <optional>

namespace cr::protocol {

// Version of this protocol (hello's "protocol" field). Bump on any incompatible change.
inline constexpr int kRelayProtocolVersion = 1;

// Close codes the relay uses (the WebSocket close frame's status). 1009 is sent by Qt itself when a
// client message exceeds the inbound limit.
enum class RelayCloseCode : quint16 {
    Normal = 1000,
    GoingAway = 1001,      // the service stops
    ProtocolError = 1002,  // the client broke RFC 6455 (an unmasked frame, §5.1)
    MessageTooBig = 1009,  // client message over the inbound limit
    Unauthorized = 4001,   // token missing or wrong
    BadRequest = 4002,     // an invalid query parameter (the reason names it)
    TooManyClients = 4003, // max_clients reached; retry later
    TooSlow = 4008,        // backlog beyond the hard limit; reconnect with since=<last seq>
    PingTimeout = 4009,    // no pong (or any message) within the bound
    TooManyErrors = 4010,  // too many invalid messages in a minute
};
QString relayCloseReason(RelayCloseCode code); // the fixed, short reason text sent with the code

// Which preview frames a client gets.
enum class PreviewMode {
    Off,
    Type1, // ComfyUI's type-1 layout (the default, what the Python project sent)
    Type4, // type 4: metadata JSON (ComfyUI's keys + job_id), then the image
};
QString previewModeName(PreviewMode mode);                           // "off" | "type1" | "type4"
std::optional<PreviewMode> previewModeFromName(const QString &name); // also accepts "on" (= type1)

// What one client receives. Defaults = the legacy (Python project) behaviour.
struct RelaySubscription {
    QSet<QString> jobIds; // empty: every event; else only events of these jobs (none without a job)
    QSet<QString> types;  // empty: every JSON event type; else only these "type" values
    PreviewMode previews = PreviewMode::Type1;
    double previewMaxFps = 0; // 0: no limit; else previews closer together are dropped
    bool envelope = false;    // JSON events wrapped with seq, ts, job_id (see encodeRelayEnvelope)
    bool binary = false;      // also pass ComfyUI's non-preview binary frames (type 3, custom) as is

    bool acceptsJson(const QString &type, const QString &jobId) const;
    bool acceptsPreview(const QString &jobId) const;
    bool acceptsBinary(const QString &jobId) const;
    bool isLegacy() const { return *this == RelaySubscription{}; }
    QJsonObject toJson() const; // the subscription fields as in the subscribe message (lists sorted)
    bool operator==(const RelaySubscription &) const = default;
};

// A change to a subscription: only the fields present are replaced.
struct RelaySubscriptionUpdate {
    std::optional<QStringList> jobIds; // empty list = every job
    std::optional<QStringList> types;  // empty list = every type
    std::optional<PreviewMode> previews;
    std::optional<double> previewMaxFps;
    std::optional<bool> envelope;
    std::optional<bool> binary;

    void applyTo(RelaySubscription &subscription) const;
    bool isEmpty() const;
};

// Limits of client input (also checked by the parsers).
inline constexpr int kRelayMaxListEntries = 256;
inline constexpr int kRelayMaxIdLength = 256;
inline constexpr double kRelayMaxPreviewFps = 1000;
// preview_fps is 0 (no limit) or at least this: one preview per 100 s. Smaller rates would make the interval
// (1e9 / fps ns) overflow qint64 and switch the limit off.
inline constexpr double kRelayMinPreviewFps = 0.01;

// The connection URL's query (ws://host:port/?jobs=a,b&types=progress&previews=type4&preview_fps=5&
// envelope=1&binary=0&since=120&token=...). Unknown parameters are ignored (legacy clients add their own);
// an invalid value of a known one is an error naming the parameter.
struct RelayConnectOptions {
    RelaySubscriptionUpdate subscription;
    std::optional<qint64> since;
    QString token;
};
std::optional<RelayConnectOptions> parseRelayQuery(const QUrlQuery &query, QString *error = nullptr);
// The query a client (the monitor) puts in its URL for these options; defaults are left out.
QUrlQuery relayQuery(const RelaySubscription &subscription, std::optional<qint64> since = {},
                     const QString &token = {});

// A client -> relay text message: {"type": "hello"|"subscribe"|"ping", "data": {...}}.
enum class RelayRequest { Hello, Subscribe, Ping };
struct RelayClientMessage {
    RelayRequest request = RelayRequest::Hello;
    int protocol = 0;                     // hello: the client's protocol version (required)
    RelaySubscriptionUpdate subscription; // hello and subscribe
    std::optional<qint64> since;          // hello only
    QJsonValue pingId;                    // ping: echoed in relay_pong
};

// Why a client message was refused: a stable code (relay_error's data.code) and a sentence.
struct RelayMessageError {
    QString code; // invalid_json | invalid_message | unknown_type | unsupported_protocol | binary_not_accepted
    QString message;
    QString request; // the message's "type" when it was readable
};
namespace RelayErrorCode {
inline constexpr char InvalidJson[] = "invalid_json";
inline constexpr char InvalidMessage[] = "invalid_message";
inline constexpr char UnknownType[] = "unknown_type";
inline constexpr char UnsupportedProtocol[] = "unsupported_protocol";
inline constexpr char BinaryNotAccepted[] = "binary_not_accepted";
} // namespace RelayErrorCode

std::optional<RelayClientMessage> parseRelayClientMessage(const QByteArray &text, RelayMessageError *error = nullptr);
// Client side (monitor): the messages to send.
QByteArray encodeRelayHello(const RelaySubscription &subscription, std::optional<qint64> since = {});
QByteArray encodeRelaySubscribe(const RelaySubscriptionUpdate &update);
// {"data":{"id":N},"type":"ping"}: answered by relay_pong with the same id.
QByteArray encodeRelayPing(qint64 id);

} // namespace cr::protocol
