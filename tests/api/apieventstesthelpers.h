#pragma once
// Helpers shared by the job event log and Server-Sent Events tests: a job run to its end, streams opened up to
// their response head, and the sequence numbers of what the hub holds and what a stream got.

#include "tests/api/apitestenv.h"
#include "tests/api/sseclient.h"

#include "core/relay/relayevent.h"

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QPair>
#include <QString>

namespace cr::testing {

using Headers = QList<QPair<QByteArray, QByteArray>>;

QList<qint64> range(qint64 from, qint64 to);

QList<qint64> seqsOf(const QList<RelayEventPtr> &events);

// The events after `before`: a stream registered just before `before` was read may also have got one more.
QList<SseEvent> after(const QList<SseEvent> &events, qint64 before);

QList<qint64> seqsOf(const QList<SseEvent> &events);

QJsonObject jsonOf(const QByteArray &data);

// Runs the sd15 workflow with "wait": true; the job's id once it succeeded, else empty.
QString runJob(ApiTestEnv &env);

// Opens an SSE request and waits for the response head.
bool openStream(SseClient &client, ApiTestEnv &env, const QByteArray &pathAndQuery, const Headers &headers = {},
                bool stalled = false);

} // namespace cr::testing
