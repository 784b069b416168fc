#include "relayfixture.h"

#include "protocol/binaryframe.h"
#include "protocol/relaymessages.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QtEndian>

namespace cr::testing {

std::optional<RelaySessionStats> statsOf(const RelayServer &server, quint64 id)
{
    for (const RelaySessionStats &s : server.clientStats())
        if (s.id == id)
            return s;
    return std::nullopt;
}

using namespace cr::protocol;
using namespace Qt::StringLiterals;

RelaySettings relayTestSettings()
{
    RelaySettings s;
    s.host = u"127.0.0.1"_s;
    s.port = 0;
    return s;
}

RelayFixture::RelayFixture(RelaySettings settings, const QString &token, RelayServerOptions options,
                           EventHubLimits limits)
    : hub(std::make_unique<EventHub>(limits)),
      server(std::make_unique<RelayServer>(hub.get(), settings, token, options))
{ }

bool RelayFixture::listen()
{
    QString error;
    const bool ok = server->listen(&error);
    if (!ok)
        qWarning() << error;
    return ok;
}

QUrl RelayFixture::url(const QString &query) const
{
    QUrl u(u"ws://127.0.0.1:%1/"_s.arg(server->port()));
    if (!query.isEmpty())
        u.setQuery(query);
    return u;
}

ComfyEvent comfyEvent(const QByteArray &raw) { return parseTextFrame(raw).value_or(ComfyEvent{}); }

PreviewFrame previewFrame(const QByteArray &image, const QString &promptId)
{
    PreviewFrame f;
    f.image = image;
    f.meta.promptId = promptId;
    f.meta.nodeId = u"3"_s;
    f.meta.displayNodeId = u"3"_s;
    f.meta.realNodeId = u"3"_s;
    return f;
}

QString describeMessage(const WsMessage &m)
{
    if (m.binary) {
        const quint32 type = m.data.size() >= 4 ? qFromBigEndian<quint32>(m.data.constData()) : 0;
        if (type == 1)
            return u"preview1:"_s + QString::fromLatin1(m.data.mid(8));
        if (type == 4)
            return u"preview4@"_s + parseRelayPreview(m.data).value_or(RelayPreview{}).jobId;
        if (type == 3) {
            const auto frame = parseBinaryFrame(m.data);
            return u"binary:"_s + (frame && frame->text ? frame->text->text : QString());
        }
        return u"binary?"_s;
    }
    if (const auto env = parseRelayEnvelope(m.data))
        return u"env:%1@%2"_s.arg(env->type, env->jobId.isEmpty() ? u"-"_s : env->jobId);
    const QJsonObject o = QJsonDocument::fromJson(m.data).object();
    const QJsonObject data = o.value("data"_L1).toObject();
    QString job = data.value("job_id"_L1).toString();
    if (job.isEmpty() && data.contains("prompt_id"_L1))
        job = data.value("prompt_id"_L1).toString().mid(1); // prompts pA/pB belong to jobs A/B
    return u"%1@%2"_s.arg(o.value("type"_L1).toString(), job.isEmpty() ? u"-"_s : job);
}

QStringList describeMessages(const QList<WsMessage> &messages)
{
    QStringList out;
    for (const WsMessage &m : messages)
        out.append(describeMessage(m));
    return out;
}

void publishScript(EventHub &hub)
{
    hub.publishComfyEvent(
        comfyEvent(R"({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 1}}}})"), {});
    hub.publishServiceEvent(u"job_queued"_s, {}, u"A"_s);
    hub.publishComfyEvent(
        comfyEvent(R"({"type": "progress", "data": {"value": 1, "max": 8, "prompt_id": "pA", "node": "3"}})"), u"A"_s);
    hub.publishPreview(previewFrame("imgA", u"pA"_s), u"A"_s);
    hub.publishComfyEvent(
        comfyEvent(R"({"type": "progress", "data": {"value": 1, "max": 8, "prompt_id": "pB", "node": "3"}})"), u"B"_s);
    hub.publishPreview(previewFrame("imgB", u"pB"_s), u"B"_s);
    hub.publishServiceEvent(u"job_finished"_s, {}, u"A"_s);
    hub.publishBinary(encodeTextFrame(u"9"_s, u"textA"_s), u"A"_s);
    hub.publishComfyEvent(comfyEvent(R"({"type": "executed", "data": {"node": "9", "output": {}, "prompt_id": "pB"}})"),
                          u"B"_s);
}

} // namespace cr::testing
