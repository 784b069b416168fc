// Fuzz target: the relay's own protocol (protocol/relaymessages): client messages (hello, subscribe, ping),
// connection query strings, envelopes and type-4 previews with job_id. Every input goes through each parser;
// what parses must round-trip through the encoders the service and the monitor use.

#include "fuzzsupport.h"

#include "protocol/relaymessages.h"

#include <QJsonDocument>

using namespace cr::protocol;

namespace {

// The hello the monitor sends for a subscription parses back to the same subscription.
void checkHelloRoundTrip(const RelaySubscription &subscription)
{
    (void)subscription.toJson();
    (void)encodeRelayWelcome(QStringLiteral("relay_welcome"), subscription, 7, 3, 4);
    const auto hello = parseRelayClientMessage(encodeRelayHello(subscription, 9));
    CR_FUZZ_CHECK(hello && hello->request == RelayRequest::Hello && hello->since == 9);
    RelaySubscription again;
    hello->subscription.applyTo(again);
    CR_FUZZ_CHECK(again == subscription);
}

// A subscription read from a connection URL, written back as a query by relayQuery (the monitor's URL) and
// parsed again, must not change.
void checkQueryRoundTrip(const RelaySubscription &subscription)
{
    QString why;
    const auto back = parseRelayQuery(relayQuery(subscription, 5, QStringLiteral("t")), &why);
    CR_FUZZ_CHECK(back.has_value());
    RelaySubscription again;
    back->subscription.applyTo(again);
    CR_FUZZ_CHECK(again == subscription);
    CR_FUZZ_CHECK(back->since == 5 && back->token == QStringLiteral("t"));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cr::fuzz::quietQt();
    const QByteArray input = cr::fuzz::bytes(data, size);

    RelayMessageError error;
    if (const auto message = parseRelayClientMessage(input, &error)) {
        if (message->request == RelayRequest::Ping)
            CR_FUZZ_CHECK(!encodeRelayPong(message->pingId, 1).isEmpty());
        else {
            RelaySubscription subscription;
            message->subscription.applyTo(subscription);
            checkHelloRoundTrip(subscription);
        }
    } else {
        CR_FUZZ_CHECK(!error.code.isEmpty());
        CR_FUZZ_CHECK(QJsonDocument::fromJson(encodeRelayError(error)).isObject());
    }

    QString why;
    if (const auto options = parseRelayQuery(QUrlQuery(QString::fromUtf8(input)), &why)) {
        RelaySubscription subscription;
        options->subscription.applyTo(subscription);
        checkQueryRoundTrip(subscription);
        checkHelloRoundTrip(subscription);
    } else
        CR_FUZZ_CHECK(!why.isEmpty());

    if (const auto envelope = parseRelayEnvelope(input)) {
        const QByteArray event = QJsonDocument(envelope->event).toJson(QJsonDocument::Compact);
        const auto again = parseRelayEnvelope(encodeRelayEnvelope(envelope->seq, envelope->timestampMs, envelope->type,
                                                                  envelope->jobId, envelope->promptId, event));
        CR_FUZZ_CHECK(again && again->seq == envelope->seq && again->type == envelope->type
                      && again->jobId == envelope->jobId && again->event == envelope->event);
    }

    if (const auto preview = parseRelayPreview(input)) {
        const auto again = parseRelayPreview(
            encodeRelayPreviewType4(preview->frame.meta, preview->jobId, preview->frame.format, preview->frame.image));
        CR_FUZZ_CHECK(again && again->jobId == preview->jobId && again->frame.image == preview->frame.image);
    }
    return 0;
}
