#include "tests/api/apieventstesthelpers.h"

#include <QJsonDocument>

using namespace Qt::StringLiterals;

namespace cr::testing {

namespace {

const QByteArray kRunAndWait = R"({"workflow": "sd15", "inputs": {"prompt": "a fox"}, "wait": true})";

} // namespace

QList<qint64> range(qint64 from, qint64 to)
{
    QList<qint64> out;
    for (qint64 i = from; i <= to; ++i)
        out.append(i);
    return out;
}

QList<qint64> seqsOf(const QList<RelayEventPtr> &events)
{
    QList<qint64> out;
    for (const RelayEventPtr &e : events)
        out.append(e->seq());
    return out;
}

QList<SseEvent> after(const QList<SseEvent> &events, qint64 before)
{
    QList<SseEvent> out;
    for (const SseEvent &e : events)
        if (e.id.isEmpty() || e.seq() > before)
            out.append(e);
    return out;
}

QList<qint64> seqsOf(const QList<SseEvent> &events)
{
    QList<qint64> out;
    for (const SseEvent &e : events)
        out.append(e.seq());
    return out;
}

QJsonObject jsonOf(const QByteArray &data) { return QJsonDocument::fromJson(data).object(); }

QString runJob(ApiTestEnv &env)
{
    const HttpResult r = env.call("POST", u"/api/v1/jobs"_s, kRunAndWait);
    if (r.status != 200 || r.json()[u"state"_s].toString() != "succeeded"_L1)
        return {};
    return r.json()[u"id"_s].toString();
}

bool openStream(SseClient &client, ApiTestEnv &env, const QByteArray &pathAndQuery, const Headers &headers,
                bool stalled)
{
    client.open(env.port(), pathAndQuery, headers, stalled);
    return client.waitHead();
}

} // namespace cr::testing
