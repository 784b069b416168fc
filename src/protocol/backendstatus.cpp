#include "protocol/backendstatus.h"

#include "protocol/jsonutil.h"

#include <QJsonArray>

namespace cr::protocol {

using namespace Qt::StringLiterals;

namespace {

qint64 bytesOr(const QJsonValue &v, qint64 fallback)
{
    return v.isDouble() && v.toDouble() >= 0 ? qint64(v.toDouble()) : fallback;
}

int intOr(const QJsonValue &v, int fallback) { return v.isDouble() ? v.toInt(fallback) : fallback; }

QJsonValue encodeGpu(const std::optional<BackendGpu> &gpu)
{
    if (!gpu)
        return QJsonValue::Null;
    const auto bytes = [](qint64 b) { return b >= 0 ? QJsonValue(double(b)) : QJsonValue(QJsonValue::Null); };
    return QJsonObject{{u"name"_s, stringOrNull(gpu->name)},
                       {u"vram_total"_s, bytes(gpu->vramTotal)},
                       {u"vram_free"_s, bytes(gpu->vramFree)}};
}

std::optional<BackendGpu> parseGpu(const QJsonValue &v)
{
    if (!v.isObject())
        return std::nullopt;
    const QJsonObject o = v.toObject();
    return BackendGpu{o.value(u"name").toString(), bytesOr(o.value(u"vram_total"), -1),
                      bytesOr(o.value(u"vram_free"), -1)};
}

} // namespace

QJsonObject encodeBackend(const BackendStatus &b)
{
    return {{u"name"_s, b.name},
            {u"url"_s, b.url},
            {u"state"_s, b.state},
            {u"connected"_s, b.connected},
            {u"draining"_s, b.draining},
            {u"in_flight"_s, b.inFlight},
            {u"max_in_flight"_s, b.maxInFlight >= 0 ? QJsonValue(b.maxInFlight) : QJsonValue(QJsonValue::Null)},
            {u"queue_length"_s, b.queueLength},
            {u"last_checkpoint"_s, stringOrNull(b.lastCheckpoint)},
            {u"capabilities_known"_s, b.capabilitiesKnown},
            {u"node_count"_s, b.nodeCount},
            {u"model_count"_s, b.modelCount},
            {u"tags"_s, QJsonArray::fromStringList(b.tags)},
            {u"last_error"_s, stringOrNull(b.lastError)},
            {u"since"_s, timeOrNull(b.since)},
            {u"gpu"_s, encodeGpu(b.gpu)}};
}

std::optional<BackendStatus> parseBackend(const QJsonObject &o)
{
    const QJsonValue name = o.value(u"name");
    if (!name.isString() || name.toString().isEmpty())
        return std::nullopt;
    BackendStatus b;
    b.name = name.toString();
    b.url = o.value(u"url").toString();
    b.state = o.value(u"state").toString();
    b.connected = o.value(u"connected").toBool();
    b.draining = o.value(u"draining").toBool();
    b.inFlight = intOr(o.value(u"in_flight"), 0);
    b.maxInFlight = intOr(o.value(u"max_in_flight"), -1);
    b.queueLength = intOr(o.value(u"queue_length"), 0);
    b.lastCheckpoint = o.value(u"last_checkpoint").toString();
    b.capabilitiesKnown = o.value(u"capabilities_known").toBool();
    b.nodeCount = intOr(o.value(u"node_count"), 0);
    b.modelCount = intOr(o.value(u"model_count"), 0);
    for (const QJsonValue &t : o.value(u"tags").toArray())
        if (t.isString())
            b.tags << t.toString();
    b.lastError = o.value(u"last_error").toString();
    b.since = timeFromJson(o.value(u"since"));
    b.gpu = parseGpu(o.value(u"gpu"));
    return b;
}

QList<BackendStatus> parseBackendList(const QJsonObject &object)
{
    QList<BackendStatus> out;
    for (const QJsonValue &v : object.value(u"backends").toArray())
        if (auto b = parseBackend(v.toObject()))
            out << *b;
    return out;
}

std::optional<BackendGpu> gpuFromSystemStats(const QJsonObject &systemStats)
{
    const QJsonArray devices = systemStats.value(u"devices").toArray();
    if (devices.isEmpty() || !devices.first().isObject())
        return std::nullopt;
    return parseGpu(devices.first());
}

} // namespace cr::protocol
