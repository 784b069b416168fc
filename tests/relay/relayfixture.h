#pragma once
// Shared pieces of the relay's socket tests: a hub + server on a free port, small event builders, the
// fixed script the filter tests publish, and a readable description of each received message.

#include "core/relay/eventhub.h"
#include "core/relay/relayserver.h"
#include "protocol/comfyevents.h"
#include "relaytestclients.h"

#include <QStringList>
#include <QUrl>

#include <memory>

#include <optional>

namespace cr::testing {

RelaySettings relayTestSettings(); // 127.0.0.1, port 0, defaults otherwise
// The server's statistics of one client; nullopt once it is gone.
std::optional<RelaySessionStats> statsOf(const RelayServer &server, quint64 id);

// One hub + server; listen() binds a free port.
struct RelayFixture {
    std::unique_ptr<EventHub> hub;
    std::unique_ptr<RelayServer> server;

    explicit RelayFixture(RelaySettings settings = relayTestSettings(), const QString &token = {},
                          RelayServerOptions options = {}, EventHubLimits limits = {});
    bool listen();
    QUrl url(const QString &query = {}) const;
};

protocol::ComfyEvent comfyEvent(const QByteArray &raw);
protocol::PreviewFrame previewFrame(const QByteArray &image, const QString &promptId);

// "type@job" for JSON (job from data.job_id, or prompt pX -> job X), "env:type@job" for envelopes,
// "preview1:<image>", "preview4@job", "binary:<text>".
QString describeMessage(const WsMessage &message);
QStringList describeMessages(const QList<WsMessage> &messages);

// status (no job), job_queued A, progress pA, preview imgA, progress pB, preview imgB, job_finished A,
// a type-3 frame "textA" of A, executed pB.
void publishScript(EventHub &hub);

} // namespace cr::testing
