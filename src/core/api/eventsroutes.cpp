// GET /api/v1/events and GET /api/v1/jobs/{id}/events: the job event logs kept by the EventHub, and
// Server-Sent Events streams with the WebSocket relay's filters and Last-Event-ID resume.

#include "core/api/controllers.h"

#include "core/jobs/jobmanager.h"
#include "core/relay/eventhub.h"
#include "protocol/jsonutil.h"

#include <QJsonArray>

#include <optional>

namespace cr {

namespace {

Error badRequest(const QString &message, const QString &parameter)
{
    return Error::make(ErrorCode::InvalidRequest, message, {{QStringLiteral("parameter"), parameter}});
}

// The resume point: the Last-Event-ID header (what EventSource sends when it reconnects) wins over ?since=.
Result<std::optional<qint64>> resumePoint(const ApiRequest &req, const std::optional<qint64> &since)
{
    const QByteArray header = req.header("Last-Event-ID").trimmed();
    if (header.isEmpty())
        return since;
    bool ok = false;
    const qint64 id = header.toLongLong(&ok);
    if (!ok || id < 0)
        return badRequest(
            QStringLiteral("the Last-Event-ID header must be a non-negative integer (an event id of this stream)"),
            QStringLiteral("Last-Event-ID"));
    return std::optional<qint64>(id);
}

// ?follow: absent = false; bare, 1/true/yes = true; 0/false/no = false.
Result<bool> followParam(const QUrlQuery &query)
{
    if (!query.hasQueryItem(QStringLiteral("follow")))
        return false;
    const QString v = query.queryItemValue(QStringLiteral("follow")).trimmed().toLower();
    if (v.isEmpty() || v == QLatin1String("1") || v == QLatin1String("true") || v == QLatin1String("yes"))
        return true;
    if (v == QLatin1String("0") || v == QLatin1String("false") || v == QLatin1String("no"))
        return false;
    return badRequest(QStringLiteral("query parameter 'follow' must be true or false"), QStringLiteral("follow"));
}

// The query parameters shared with the WebSocket relay (jobs, types, envelope, since); the preview and
// binary options are accepted and ignored (SSE carries JSON events only).
Result<protocol::RelayConnectOptions> relayOptions(const ApiRequest &req)
{
    QString why;
    std::optional<protocol::RelayConnectOptions> options = protocol::parseRelayQuery(req.query, &why);
    if (!options) {
        const QString parameter = why.section(QLatin1Char('\''), 1, 1);
        return badRequest(why, parameter);
    }
    return *options;
}

SseStream::Options streamOptions(const protocol::RelayConnectOptions &relay)
{
    SseStream::Options options;
    relay.subscription.applyTo(options.filter);
    options.envelope = relay.subscription.envelope.value_or(true);
    return options;
}

} // namespace

EventsRoutes::EventsRoutes(const ApiContext &ctx, QObject *parent)
    : QObject(parent), m_ctx(ctx), m_limits(SseLimits::from(ctx.config))
{
    connect(m_ctx.hub, &EventHub::published, this, &EventsRoutes::onPublished);
}

void EventsRoutes::install(RouteHandlers &h)
{
    h.insert(RouteId::Events, [this](const ApiRequest &r, ApiReply reply) { allEvents(r, reply); });
    h.insert(RouteId::GetJobEvents, [this](const ApiRequest &r, ApiReply reply) { jobEvents(r, reply); });
}

// GET /api/v1/events?jobs=&types=&envelope=&since= (+ Last-Event-ID) -> 200 text/event-stream, endless:
// every JSON event the hub publishes that passes the filters, `id: <seq>`, `event: <type>`, `data: <envelope>`
// (envelope=0: the event's own JSON). With a resume point, the kept events after it come first, preceded by a
// relay_gap event when some are gone. 400 invalid_request (a bad parameter) | 503 too_many_streams.
void EventsRoutes::allEvents(const ApiRequest &req, ApiReply reply)
{
    const Result<protocol::RelayConnectOptions> relay = relayOptions(req);
    if (!relay)
        return reply.error(relay.error());
    const Result<std::optional<qint64>> since = resumePoint(req, relay->since);
    if (!since)
        return reply.error(since.error());
    SseStream *stream = openStream(reply, streamOptions(*relay));
    if (!stream || !since->has_value())
        return;
    const qint64 from = **since;
    const EventHub::Replay replay = m_ctx.hub->eventsSince(from);
    if (replay.gap)
        stream->sendGap(from, replay.firstSeq, replay.lastSeq, replay.gapReason);
    for (const RelayEventPtr &event : replay.events)
        stream->offer(event, true);
}

// GET /api/v1/jobs/{id}/events?since= -> 200 {"job_id", "dropped", "events": [envelope...]}, oldest first
// (dropped: older events of the job no longer kept) | 404 job_not_found (unknown to the job manager and the
// event hub) | 410 job_expired (pruned; its log went with it).
// GET /api/v1/jobs/{id}/events?follow=true&types=&envelope=&since= (+ Last-Event-ID) -> 200 text/event-stream:
// the job's kept events (after the resume point), then its live ones; the response ends after the job's
// job_finished / job_failed / job_cancelled event (at once when the job already ended).
void EventsRoutes::jobEvents(const ApiRequest &req, ApiReply reply)
{
    const QString id = req.arg(0);
    const EventHub::JobLog log = m_ctx.hub->jobEvents(id);
    const Job *job = m_ctx.jobs ? m_ctx.jobs->find(id) : nullptr;
    if (!job && !log.known)
        return reply.error(m_ctx.jobs ? m_ctx.jobs->missingJob(id)
                                      : Error::make(ErrorCode::JobNotFound, QStringLiteral("no job with id %1").arg(id),
                                                    {{QStringLiteral("job_id"), id}}));
    const Result<bool> follow = followParam(req.query);
    if (!follow)
        return reply.error(follow.error());
    Result<protocol::RelayConnectOptions> relay = relayOptions(req);
    if (!relay)
        return reply.error(relay.error());
    const Result<std::optional<qint64>> since = resumePoint(req, relay->since);
    if (!since)
        return reply.error(since.error());
    const qint64 from = since->value_or(0);

    if (!*follow) {
        QByteArray body = "{\"job_id\":" + protocol::jsonStringLiteral(id)
            + ",\"dropped\":" + QByteArray::number(log.dropped) + ",\"events\":[";
        bool first = true;
        for (const RelayEventPtr &event : log.events) {
            if (event->seq() <= from)
                continue;
            if (!first)
                body.append(',');
            body.append(event->envelopeBytes());
            first = false;
        }
        body.append("]}");
        return reply.raw(200, body, "application/json");
    }

    SseStream::Options options = streamOptions(*relay);
    options.filter.jobIds = {id};
    options.followJob = id;
    SseStream *stream = openStream(reply, options);
    if (!stream)
        return;
    bool finalSeen = false;
    for (const RelayEventPtr &event : log.events)
        finalSeen = finalSeen || protocol::isFinalServiceEvent(event->type());
    qint64 replayFrom = from;
    const qint64 lastSeq = m_ctx.hub->lastSeq();
    if (from > lastSeq) { // an id from before a restart: everything kept is new to the client
        stream->sendGap(from, log.events.isEmpty() ? lastSeq + 1 : log.events.first()->seq(), lastSeq,
                        QStringLiteral("unknown_seq"));
        replayFrom = 0;
    } else if (!log.known && job && job->isFinished()) { // its log was forgotten
        stream->sendGap(from, lastSeq + 1, lastSeq, QStringLiteral("evicted"));
    } else if (log.dropped > 0 && !log.events.isEmpty() && from < log.events.first()->seq() - 1) {
        stream->sendGap(from, log.events.first()->seq(), lastSeq, QStringLiteral("evicted"));
    }
    for (const RelayEventPtr &event : log.events) {
        if (event->seq() > replayFrom)
            stream->offer(event, true);
    }
    if (finalSeen || (job && job->isFinished()))
        stream->finish();
}

SseStream *EventsRoutes::openStream(ApiReply reply, SseStream::Options options)
{
    if (m_streams.size() >= m_limits.maxStreams) {
        ++m_rejected;
        reply.error(
            Error::make(
                ErrorCode::TooManyStreams,
                QStringLiteral("at most %1 event streams can be open at once; retry later").arg(m_limits.maxStreams),
                {{QStringLiteral("max_streams"), m_limits.maxStreams}}),
            {{"Retry-After", "5"}});
        return nullptr;
    }
    auto *stream = new SseStream(reply, std::move(options), m_limits, this);
    connect(stream, &SseStream::ended, this, &EventsRoutes::onEnded);
    if (!stream->open()) // a HEAD request, or the client already left; `ended` deleted it
        return nullptr;
    ++m_opened;
    m_streams.append(stream);
    return stream;
}

void EventsRoutes::onPublished(const RelayEventPtr &event)
{
    if (!event->isJson() || m_streams.isEmpty())
        return;
    const QList<SseStream *> streams = m_streams; // a stream may end (and leave the list) while it is offered
    for (SseStream *stream : streams)
        stream->offer(event);
}

int EventsRoutes::endAll()
{
    const QList<SseStream *> streams = m_streams; // finish() may end a stream (and drop it from the list)
    for (SseStream *stream : streams)
        stream->finish();
    return int(streams.size());
}

void EventsRoutes::onEnded(SseStream *stream, SseStream::EndReason reason)
{
    if (m_streams.removeOne(stream)) {
        switch (reason) {
        case SseStream::EndReason::Completed:
            ++m_completed;
            break;
        case SseStream::EndReason::ClientLeft:
            ++m_clientLeft;
            break;
        case SseStream::EndReason::TooSlow:
            ++m_tooSlow;
            break;
        }
    }
    stream->deleteLater();
}

QJsonObject EventsRoutes::statsJson() const
{
    QJsonArray perStream;
    for (const SseStream *s : m_streams) {
        perStream.append(QJsonObject{{QStringLiteral("peer"), s->peer()},
                                     {QStringLiteral("events_sent"), double(s->eventsSent())},
                                     {QStringLiteral("queued_bytes"), double(s->queuedBytes())},
                                     {QStringLiteral("live_queued_bytes"), double(s->liveQueuedBytes())},
                                     {QStringLiteral("bytes_to_write"), double(s->socketBacklog())}});
    }
    return QJsonObject{
        {QStringLiteral("streams"), int(m_streams.size())},
        {QStringLiteral("max_streams"), m_limits.maxStreams},
        {QStringLiteral("opened"), double(m_opened)},
        {QStringLiteral("rejected"), double(m_rejected)},
        {QStringLiteral("ended"),
         QJsonObject{{QStringLiteral("completed"), double(m_completed)},
                     {QStringLiteral("client_left"), double(m_clientLeft)},
                     {QStringLiteral("too_slow"), double(m_tooSlow)}}},
        {QStringLiteral("per_stream"), perStream},
    };
}

} // namespace cr
