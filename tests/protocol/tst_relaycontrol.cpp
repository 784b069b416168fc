// The relay's messages to its clients (protocol/relaycontrol.h) decoded as the monitor decodes them: every
// control message round-trips through its encoder, the ping the monitor sends is what the relay's parser
// accepts, and an enveloped ComfyUI frame (every recorded one) types the same as the frame itself. No sockets.

#include "protocol/comfyevents.h"
#include "protocol/relaymessages.h"
#include "sim/capture.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace cr::protocol;
using namespace cr::sim;

namespace {

template <typename T>
T control(const QByteArray &bytes)
{
    const auto parsed = parseRelayControl(bytes);
    if (!parsed || !std::holds_alternative<T>(*parsed))
        qFatal("not the expected control message: %s", bytes.constData());
    return std::get<T>(*parsed);
}

} // namespace

class TstRelayControl final : public QObject
{
    Q_OBJECT

private slots:
    void welcomeRoundTrip();
    void gapPongErrorRoundTrip();
    void lenientAndForeign();
    void ping();
    void envelopedCaptures();
};

void TstRelayControl::welcomeRoundTrip()
{
    RelaySubscription sub;
    sub.jobIds = {u"b"_s, u"a"_s};
    sub.types = {u"progress"_s};
    sub.previews = PreviewMode::Type4;
    sub.previewMaxFps = 2.5;
    sub.envelope = true;
    const RelayWelcome plain = control<RelayWelcome>(encodeRelayWelcome(u"relay_welcome"_s, sub, 41));
    QCOMPARE(plain.type, u"relay_welcome"_s);
    QCOMPARE(plain.protocol, kRelayProtocolVersion);
    QCOMPARE(plain.subscription, sub);
    QCOMPARE(plain.lastSeq, 41);
    QVERIFY(!plain.replaySince);
    QCOMPARE(plain.replayCount, 0);

    const RelayWelcome replay = control<RelayWelcome>(encodeRelayWelcome(u"relay_subscribed"_s, {}, 90, 12, 78));
    QCOMPARE(replay.type, u"relay_subscribed"_s);
    QCOMPARE(replay.subscription, RelaySubscription{});
    QCOMPARE(replay.replaySince, std::optional<qint64>(12));
    QCOMPARE(replay.replayCount, 78);
}

void TstRelayControl::gapPongErrorRoundTrip()
{
    QCOMPARE(control<RelayGap>(encodeRelayGap(5, 100, 140, u"evicted"_s)), (RelayGap{5, 100, 140, u"evicted"_s}));
    QCOMPARE(control<RelayPong>(encodeRelayPong(7, 33)), (RelayPong{QJsonValue(7), 33}));
    QCOMPARE(control<RelayPong>(encodeRelayPong(u"x"_s, 0)).id, QJsonValue(u"x"_s));
    const RelayMessageError error{QString::fromLatin1(RelayErrorCode::UnknownType), u"unknown message type"_s,
                                  u"helo"_s};
    const RelayMessageError back = control<RelayMessageError>(encodeRelayError(error));
    QCOMPARE(back.code, error.code);
    QCOMPARE(back.message, error.message);
    QCOMPARE(back.request, error.request);
}

void TstRelayControl::lenientAndForeign()
{
    // What the monitor always accepted: missing numbers are 0, a bad subscription gives the defaults.
    const RelayWelcome w = control<RelayWelcome>(R"({"type": "relay_welcome", "data": {"subscription": {"jobs": 5}}})");
    QCOMPARE(w.lastSeq, 0);
    QCOMPARE(w.subscription, RelaySubscription{});
    QCOMPARE(control<RelayGap>(R"({"type": "relay_gap"})"), RelayGap{});
    QVERIFY(!parseRelayControl(QByteArray(R"({"type": "progress", "data": {"value": 1}})")));
    QVERIFY(!parseRelayControl(QByteArray(R"({"type": "relay_future", "data": {}})")));
    QVERIFY(!parseRelayControl(QByteArray("not json")));
}

// The monitor's ping: the bytes it has always sent, and a message the relay's own parser accepts.
void TstRelayControl::ping()
{
    QCOMPARE(encodeRelayPing(3), QByteArray(R"({"data":{"id":3},"type":"ping"})"));
    const auto msg = parseRelayClientMessage(encodeRelayPing(12));
    QVERIFY(msg);
    QCOMPARE(msg->request, RelayRequest::Ping);
    QCOMPARE(msg->pingId, QJsonValue(12));
}

// parseEventObject on an envelope's event gives what parseTextFrame gives on the frame itself.
void TstRelayControl::envelopedCaptures()
{
    int frames = 0;
    for (const QString &scenario : captureScenarios()) {
        QString error;
        const auto capture = Capture::load(scenario, &error);
        QVERIFY2(capture, qPrintable(error));
        for (const CaptureRecord &r : capture->records) {
            if (r.dir != "ws_in"_L1 || !r.isText())
                continue;
            const auto direct = parseTextFrame(r.text);
            QVERIFY(direct);
            const auto env
                = parseRelayEnvelope(encodeRelayEnvelope(9, 1000, direct->typeName, {}, direct->promptId, r.text));
            QVERIFY(env);
            const auto viaEnvelope = parseEventObject(env->event);
            QVERIFY(viaEnvelope);
            QCOMPARE(viaEnvelope->typeName, direct->typeName);
            QCOMPARE(viaEnvelope->type, direct->type);
            QCOMPARE(viaEnvelope->promptId, direct->promptId);
            QCOMPARE(viaEnvelope->data, direct->data);
            QCOMPARE(viaEnvelope->payload.index(), direct->payload.index());
            ++frames;
        }
    }
    QVERIFY2(frames > 100, qPrintable(u"only %1 recorded text frames"_s.arg(frames)));
}

QTEST_GUILESS_MAIN(TstRelayControl)
#include "tst_relaycontrol.moc"
