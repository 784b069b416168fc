#include "protocol/relaysubscription.h"

#include "protocol/jsonutil.h"
#include "protocol/relaywire_p.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QLocale>

#include <algorithm>
#include <cmath>

namespace cr::protocol {

using namespace Qt::StringLiterals;
using detail::controlMessage;
using detail::nonNegativeInteger;
using detail::readSubscription;

namespace {

const QStringList kSubscriptionKeys
    = {u"jobs"_s, u"types"_s, u"previews"_s, u"preview_fps"_s, u"envelope"_s, u"binary"_s};

QJsonArray sortedArray(const QSet<QString> &set)
{
    QStringList list(set.begin(), set.end());
    list.sort();
    return QJsonArray::fromStringList(list);
}

std::optional<bool> boolFromText(const QString &text)
{
    const QString t = text.trimmed().toLower();
    if (t.isEmpty() || t == "1"_L1 || t == "true"_L1 || t == "yes"_L1 || t == "on"_L1)
        return true;
    if (t == "0"_L1 || t == "false"_L1 || t == "no"_L1 || t == "off"_L1)
        return false;
    return std::nullopt;
}

bool validIdList(const QStringList &list, QString *why)
{
    if (list.size() > kRelayMaxListEntries) {
        *why = u"at most %1 entries"_s.arg(kRelayMaxListEntries);
        return false;
    }
    for (const QString &s : list) {
        if (s.size() > kRelayMaxIdLength) {
            *why = u"entries are at most %1 characters"_s.arg(kRelayMaxIdLength);
            return false;
        }
    }
    return true;
}

bool validFps(double v)
{
    return std::isfinite(v) && (v == 0 || (v >= kRelayMinPreviewFps && v <= kRelayMaxPreviewFps));
}

std::optional<QStringList> stringListFrom(const QJsonValue &v, QString *why)
{
    if (v.isNull())
        return QStringList{};
    if (!v.isArray()) {
        *why = u"must be an array of strings or null"_s;
        return std::nullopt;
    }
    QStringList out;
    for (const QJsonValue &e : v.toArray()) {
        if (!e.isString()) {
            *why = u"must be an array of strings or null"_s;
            return std::nullopt;
        }
        out.append(e.toString());
    }
    if (!validIdList(out, why))
        return std::nullopt;
    return out;
}

std::optional<RelayClientMessage> refuse(RelayMessageError *error, const char *code, const QString &message,
                                         const QString &request = {})
{
    if (error)
        *error = RelayMessageError{QString::fromLatin1(code), message, request};
    return std::nullopt;
}

QJsonObject updateToJson(const RelaySubscriptionUpdate &u)
{
    QJsonObject o;
    if (u.jobIds)
        o.insert("jobs"_L1, QJsonArray::fromStringList(*u.jobIds));
    if (u.types)
        o.insert("types"_L1, QJsonArray::fromStringList(*u.types));
    if (u.previews)
        o.insert("previews"_L1, previewModeName(*u.previews));
    if (u.previewMaxFps)
        o.insert("preview_fps"_L1, *u.previewMaxFps);
    if (u.envelope)
        o.insert("envelope"_L1, *u.envelope);
    if (u.binary)
        o.insert("binary"_L1, *u.binary);
    return o;
}

RelaySubscriptionUpdate fullUpdate(const RelaySubscription &s)
{
    RelaySubscriptionUpdate u;
    QStringList jobs(s.jobIds.begin(), s.jobIds.end());
    QStringList types(s.types.begin(), s.types.end());
    jobs.sort();
    types.sort();
    u.jobIds = jobs;
    u.types = types;
    u.previews = s.previews;
    u.previewMaxFps = s.previewMaxFps;
    u.envelope = s.envelope;
    u.binary = s.binary;
    return u;
}

} // namespace

namespace detail {

QByteArray controlMessage(const char *type, const QJsonObject &data)
{
    QByteArray out("{\"type\":\"");
    out.append(type).append("\",\"data\":").append(QJsonDocument(data).toJson(QJsonDocument::Compact)).append('}');
    return out;
}

QByteArray nullOrString(const QString &s) { return s.isEmpty() ? QByteArray("null") : jsonStringLiteral(s); }

std::optional<qint64> nonNegativeInteger(const QJsonValue &v)
{
    if (!v.isDouble())
        return std::nullopt;
    const double d = v.toDouble();
    if (!std::isfinite(d) || d < 0 || d != std::floor(d) || d > 9.0e15)
        return std::nullopt;
    return static_cast<qint64>(d);
}

bool readSubscription(const QJsonObject &data, RelaySubscriptionUpdate &update, QString *why)
{
    QString detail;
    if (data.contains("jobs"_L1)) {
        update.jobIds = stringListFrom(data.value("jobs"_L1), &detail);
        if (!update.jobIds) {
            *why = u"\"jobs\" "_s + detail;
            return false;
        }
    }
    if (data.contains("types"_L1)) {
        update.types = stringListFrom(data.value("types"_L1), &detail);
        if (!update.types) {
            *why = u"\"types\" "_s + detail;
            return false;
        }
    }
    if (data.contains("previews"_L1)) {
        update.previews = previewModeFromName(data.value("previews"_L1).toString());
        if (!update.previews) {
            *why = u"\"previews\" must be \"off\", \"type1\" or \"type4\""_s;
            return false;
        }
    }
    if (data.contains("preview_fps"_L1)) {
        const QJsonValue v = data.value("preview_fps"_L1);
        if (!v.isDouble() || !validFps(v.toDouble())) {
            *why = u"\"preview_fps\" must be 0 (no limit) or a number from %1 to %2"_s.arg(kRelayMinPreviewFps)
                       .arg(kRelayMaxPreviewFps);
            return false;
        }
        update.previewMaxFps = v.toDouble();
    }
    for (const char *key : {"envelope", "binary"}) {
        const QString k = QString::fromLatin1(key);
        if (!data.contains(k))
            continue;
        if (!data.value(k).isBool()) {
            *why = u"\"%1\" must be true or false"_s.arg(k);
            return false;
        }
        (k == "envelope"_L1 ? update.envelope : update.binary) = data.value(k).toBool();
    }
    return true;
}

} // namespace detail

QString relayCloseReason(RelayCloseCode code)
{
    switch (code) {
    case RelayCloseCode::Normal:
        return u"closed"_s;
    case RelayCloseCode::GoingAway:
        return u"service stopping"_s;
    case RelayCloseCode::ProtocolError:
        return u"client frames must be masked"_s;
    case RelayCloseCode::MessageTooBig:
        return u"message too big"_s;
    case RelayCloseCode::Unauthorized:
        return u"unauthorized"_s;
    case RelayCloseCode::BadRequest:
        return u"bad request"_s;
    case RelayCloseCode::TooManyClients:
        return u"too many clients, retry later"_s;
    case RelayCloseCode::TooSlow:
        return u"too slow, resume with since="_s;
    case RelayCloseCode::PingTimeout:
        return u"ping timeout"_s;
    case RelayCloseCode::TooManyErrors:
        return u"too many invalid messages"_s;
    }
    return u"closed"_s;
}

QString previewModeName(PreviewMode mode)
{
    switch (mode) {
    case PreviewMode::Off:
        return u"off"_s;
    case PreviewMode::Type1:
        return u"type1"_s;
    case PreviewMode::Type4:
        return u"type4"_s;
    }
    return u"type1"_s;
}

std::optional<PreviewMode> previewModeFromName(const QString &name)
{
    const QString n = name.trimmed().toLower();
    if (n == "off"_L1)
        return PreviewMode::Off;
    if (n == "type1"_L1 || n == "on"_L1)
        return PreviewMode::Type1;
    if (n == "type4"_L1)
        return PreviewMode::Type4;
    return std::nullopt;
}

bool RelaySubscription::acceptsJson(const QString &type, const QString &jobId) const
{
    return (jobIds.isEmpty() || jobIds.contains(jobId)) && (types.isEmpty() || types.contains(type));
}

bool RelaySubscription::acceptsPreview(const QString &jobId) const
{
    return previews != PreviewMode::Off && (jobIds.isEmpty() || jobIds.contains(jobId));
}

bool RelaySubscription::acceptsBinary(const QString &jobId) const
{
    return binary && (jobIds.isEmpty() || jobIds.contains(jobId));
}

QJsonObject RelaySubscription::toJson() const
{
    return QJsonObject{
        {"jobs"_L1, sortedArray(jobIds)},  {"types"_L1, sortedArray(types)}, {"previews"_L1, previewModeName(previews)},
        {"preview_fps"_L1, previewMaxFps}, {"envelope"_L1, envelope},        {"binary"_L1, binary}};
}

void RelaySubscriptionUpdate::applyTo(RelaySubscription &s) const
{
    if (jobIds)
        s.jobIds = QSet<QString>(jobIds->begin(), jobIds->end());
    if (types)
        s.types = QSet<QString>(types->begin(), types->end());
    if (previews)
        s.previews = *previews;
    if (previewMaxFps)
        s.previewMaxFps = *previewMaxFps;
    if (envelope)
        s.envelope = *envelope;
    if (binary)
        s.binary = *binary;
}

bool RelaySubscriptionUpdate::isEmpty() const
{
    return !jobIds && !types && !previews && !previewMaxFps && !envelope && !binary;
}

std::optional<RelayConnectOptions> parseRelayQuery(const QUrlQuery &query, QString *error)
{
    auto fail = [error](const QString &param, const QString &why) -> std::optional<RelayConnectOptions> {
        if (error)
            *error = u"query parameter '%1' %2"_s.arg(param, why);
        return std::nullopt;
    };
    auto listOf = [&query](std::initializer_list<const char *> keys) -> std::optional<QStringList> {
        bool present = false;
        QStringList out;
        for (const char *key : keys) {
            const QString k = QString::fromLatin1(key);
            if (!query.hasQueryItem(k))
                continue;
            present = true;
            for (const QString &v : query.allQueryItemValues(k, QUrl::FullyDecoded))
                for (const QString &part : v.split(u',', Qt::SkipEmptyParts))
                    if (!part.trimmed().isEmpty())
                        out.append(part.trimmed());
        }
        return present ? std::optional<QStringList>(out) : std::nullopt;
    };

    RelayConnectOptions out;
    QString why;
    out.subscription.jobIds = listOf({"jobs", "job"});
    if (out.subscription.jobIds && !validIdList(*out.subscription.jobIds, &why))
        return fail(u"jobs"_s, why);
    out.subscription.types = listOf({"types", "type"});
    if (out.subscription.types && !validIdList(*out.subscription.types, &why))
        return fail(u"types"_s, why);

    const auto value
        = [&query](const char *key) { return query.queryItemValue(QString::fromLatin1(key), QUrl::FullyDecoded); };
    if (query.hasQueryItem(u"previews"_s)) {
        out.subscription.previews = previewModeFromName(value("previews"));
        if (!out.subscription.previews)
            return fail(u"previews"_s, u"must be off, type1 or type4"_s);
    }
    if (query.hasQueryItem(u"preview_fps"_s)) {
        bool ok = false;
        const double fps = value("preview_fps").toDouble(&ok);
        if (!ok || !validFps(fps))
            return fail(
                u"preview_fps"_s,
                u"must be 0 (no limit) or a number from %1 to %2"_s.arg(kRelayMinPreviewFps).arg(kRelayMaxPreviewFps));
        out.subscription.previewMaxFps = fps;
    }
    for (const char *key : {"envelope", "binary"}) {
        if (!query.hasQueryItem(QString::fromLatin1(key)))
            continue;
        const auto b = boolFromText(value(key));
        if (!b)
            return fail(QString::fromLatin1(key), u"must be 1 or 0"_s);
        (qstrcmp(key, "envelope") == 0 ? out.subscription.envelope : out.subscription.binary) = *b;
    }
    if (query.hasQueryItem(u"since"_s)) {
        bool ok = false;
        const qint64 since = value("since").toLongLong(&ok);
        if (!ok || since < 0)
            return fail(u"since"_s, u"must be a non-negative integer"_s);
        out.since = since;
    }
    out.token = value("token");
    return out;
}

QUrlQuery relayQuery(const RelaySubscription &s, std::optional<qint64> since, const QString &token)
{
    const RelaySubscription defaults;
    QUrlQuery q;
    auto joined = [](const QSet<QString> &set) {
        QStringList l(set.begin(), set.end());
        l.sort();
        return l.join(u',');
    };
    if (!s.jobIds.isEmpty())
        q.addQueryItem(u"jobs"_s, joined(s.jobIds));
    if (!s.types.isEmpty())
        q.addQueryItem(u"types"_s, joined(s.types));
    if (s.previews != defaults.previews)
        q.addQueryItem(u"previews"_s, previewModeName(s.previews));
    if (s.previewMaxFps != defaults.previewMaxFps)
        q.addQueryItem(u"preview_fps"_s,
                       QString::number(s.previewMaxFps, 'g', QLocale::FloatingPointShortest)); // exact
    if (s.envelope)
        q.addQueryItem(u"envelope"_s, u"1"_s);
    if (s.binary)
        q.addQueryItem(u"binary"_s, u"1"_s);
    if (since)
        q.addQueryItem(u"since"_s, QString::number(*since));
    if (!token.isEmpty())
        q.addQueryItem(u"token"_s, token);
    return q;
}

std::optional<RelayClientMessage> parseRelayClientMessage(const QByteArray &text, RelayMessageError *error)
{
    QJsonParseError parseError{};
    const QJsonDocument doc = QJsonDocument::fromJson(text, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        // QJsonDocument refuses a bare scalar (42, "x", null, true); that is valid JSON, just not a message.
        const QJsonDocument wrapped = QJsonDocument::fromJson('[' + text + ']');
        if (wrapped.isArray() && wrapped.array().size() == 1)
            return refuse(error, RelayErrorCode::InvalidMessage, u"a message is a JSON object"_s);
        return refuse(error, RelayErrorCode::InvalidJson, u"not valid JSON: "_s + parseError.errorString());
    }
    if (!doc.isObject())
        return refuse(error, RelayErrorCode::InvalidMessage, u"a message is a JSON object"_s);
    const QJsonObject obj = doc.object();
    const QJsonValue typeValue = obj.value("type"_L1);
    if (!typeValue.isString())
        return refuse(error, RelayErrorCode::InvalidMessage, u"\"type\" must be a string"_s);
    const QString type = typeValue.toString().left(64);
    for (auto it = obj.begin(); it != obj.end(); ++it)
        if (it.key() != "type"_L1 && it.key() != "data"_L1)
            return refuse(error, RelayErrorCode::InvalidMessage, u"unknown field \"%1\""_s.arg(it.key().left(64)),
                          type);
    const QJsonValue dataValue = obj.value("data"_L1);
    if (!dataValue.isUndefined() && !dataValue.isNull() && !dataValue.isObject())
        return refuse(error, RelayErrorCode::InvalidMessage, u"\"data\" must be an object"_s, type);
    const QJsonObject data = dataValue.toObject();

    RelayClientMessage msg;
    QStringList allowed;
    if (type == "hello"_L1) {
        msg.request = RelayRequest::Hello;
        allowed = kSubscriptionKeys + QStringList{u"protocol"_s, u"since"_s};
    } else if (type == "subscribe"_L1) {
        msg.request = RelayRequest::Subscribe;
        allowed = kSubscriptionKeys;
    } else if (type == "ping"_L1) {
        msg.request = RelayRequest::Ping;
        allowed = QStringList{u"id"_s};
    } else {
        return refuse(error, RelayErrorCode::UnknownType, u"unknown message type; expected hello, subscribe or ping"_s,
                      type);
    }
    for (auto it = data.begin(); it != data.end(); ++it)
        if (!allowed.contains(it.key()))
            return refuse(error, RelayErrorCode::InvalidMessage,
                          u"unknown field \"%1\" in data"_s.arg(it.key().left(64)), type);

    if (msg.request == RelayRequest::Ping) {
        msg.pingId = data.value("id"_L1);
        if (msg.pingId.isUndefined())
            msg.pingId = QJsonValue::Null;
        return msg;
    }
    if (msg.request == RelayRequest::Hello) {
        const auto protocol = nonNegativeInteger(data.value("protocol"_L1));
        if (!protocol || *protocol < 1)
            return refuse(error, RelayErrorCode::InvalidMessage, u"\"protocol\" must be a positive integer"_s, type);
        if (*protocol != kRelayProtocolVersion)
            return refuse(
                error, RelayErrorCode::UnsupportedProtocol,
                u"protocol %1 is not supported; this relay speaks %2"_s.arg(*protocol).arg(kRelayProtocolVersion),
                type);
        msg.protocol = int(*protocol);
        if (data.contains("since"_L1)) {
            msg.since = nonNegativeInteger(data.value("since"_L1));
            if (!msg.since)
                return refuse(error, RelayErrorCode::InvalidMessage, u"\"since\" must be a non-negative integer"_s,
                              type);
        }
    }
    QString why;
    if (!readSubscription(data, msg.subscription, &why))
        return refuse(error, RelayErrorCode::InvalidMessage, why, type);
    return msg;
}

QByteArray encodeRelayHello(const RelaySubscription &subscription, std::optional<qint64> since)
{
    QJsonObject data = updateToJson(fullUpdate(subscription));
    data.insert("protocol"_L1, kRelayProtocolVersion);
    if (since)
        data.insert("since"_L1, double(*since));
    return controlMessage("hello", data);
}

QByteArray encodeRelaySubscribe(const RelaySubscriptionUpdate &update)
{
    return controlMessage("subscribe", updateToJson(update));
}

QByteArray encodeRelayPing(qint64 id)
{
    // Key-sorted (not "type" first) as the monitor has always sent it.
    const QJsonObject ping{{u"type"_s, u"ping"_s}, {u"data"_s, QJsonObject{{u"id"_s, double(id)}}}};
    return QJsonDocument(ping).toJson(QJsonDocument::Compact);
}

} // namespace cr::protocol
