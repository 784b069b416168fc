// The relay's wire protocol without sockets: query parameters, client messages (valid and invalid),
// encoders read back by the parsers, the envelope, the type-4 frame with job_id and subscription matching.

#include "protocol/relaymessages.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>
#include <QtEndian>

using namespace cr::protocol;
using namespace Qt::StringLiterals;

namespace {

QJsonObject obj(const char *json) { return QJsonDocument::fromJson(json).object(); }

RelaySubscription applied(const RelaySubscriptionUpdate &u)
{
    RelaySubscription s;
    u.applyTo(s);
    return s;
}

} // namespace

// Query parsing, client messages, encoders/parsers and subscription matching.
class TstRelayMessages final : public QObject
{
    Q_OBJECT

private slots:
    void queryParsing_data();
    void queryParsing();
    void queryRoundTrip();
    void queryKeepsPreviewFpsExactly();
    void clientMessages_data();
    void clientMessages();
    void helloAndSubscribeRoundTrip();
    void envelopeRoundTrip_data();
    void envelopeRoundTrip();
    void controlMessages();
    void previewType4WithJobId_data();
    void previewType4WithJobId();
    void closeReasons();
    void subscriptionMatching_data();
    void subscriptionMatching();
};

void TstRelayMessages::queryParsing_data()
{
    QTest::addColumn<QString>("query");
    QTest::addColumn<QString>("badParam"); // empty: must parse
    QTest::addColumn<QJsonObject>("subscription");
    QTest::addColumn<qint64>("since"); // -1: none
    QTest::addColumn<QString>("token");

    const QJsonObject legacy = RelaySubscription{}.toJson();
    auto with = [&legacy](std::initializer_list<std::pair<const char *, QJsonValue>> changes) {
        QJsonObject o = legacy;
        for (const auto &[k, v] : changes)
            o.insert(QLatin1String(k), v);
        return o;
    };
    QTest::newRow("none") << u""_s << u""_s << legacy << qint64(-1) << u""_s;
    QTest::newRow("jobs+types") << u"jobs=b,a&types=progress"_s << u""_s
                                << with({{"jobs", QJsonArray{"a", "b"}}, {"types", QJsonArray{"progress"}}})
                                << qint64(-1) << u""_s;
    QTest::newRow("repeated job") << u"job=a&job=b,%20c"_s << u""_s << with({{"jobs", QJsonArray{"a", "b", "c"}}})
                                  << qint64(-1) << u""_s;
    QTest::newRow("previews off") << u"previews=off"_s << u""_s << with({{"previews", "off"}}) << qint64(-1) << u""_s;
    QTest::newRow("previews TYPE4") << u"previews=TYPE4"_s << u""_s << with({{"previews", "type4"}}) << qint64(-1)
                                    << u""_s;
    QTest::newRow("previews on") << u"previews=on"_s << u""_s << legacy << qint64(-1) << u""_s;
    QTest::newRow("fps") << u"preview_fps=2.5"_s << u""_s << with({{"preview_fps", 2.5}}) << qint64(-1) << u""_s;
    QTest::newRow("flags") << u"envelope=1&binary=true"_s << u""_s << with({{"envelope", true}, {"binary", true}})
                           << qint64(-1) << u""_s;
    QTest::newRow("bare flag") << u"envelope"_s << u""_s << with({{"envelope", true}}) << qint64(-1) << u""_s;
    QTest::newRow("flag off") << u"binary=0"_s << u""_s << legacy << qint64(-1) << u""_s;
    QTest::newRow("since") << u"since=42"_s << u""_s << legacy << qint64(42) << u""_s;
    QTest::newRow("token decoded") << u"token=x%20y%26z"_s << u""_s << legacy << qint64(-1) << u"x y&z"_s;
    QTest::newRow("unknown ignored") << u"clientId=abc&foo=bar"_s << u""_s << legacy << qint64(-1) << u""_s;
    QTest::newRow("bad previews") << u"previews=maybe"_s << u"previews"_s << QJsonObject() << qint64(-1) << u""_s;
    QTest::newRow("negative fps") << u"preview_fps=-1"_s << u"preview_fps"_s << QJsonObject() << qint64(-1) << u""_s;
    QTest::newRow("text fps") << u"preview_fps=abc"_s << u"preview_fps"_s << QJsonObject() << qint64(-1) << u""_s;
    QTest::newRow("huge fps") << u"preview_fps=5000"_s << u"preview_fps"_s << QJsonObject() << qint64(-1) << u""_s;
    // Tiny positive rates would overflow the interval (1e9 / fps ns) and switch the limit off.
    QTest::newRow("tiny fps") << u"preview_fps=1e-300"_s << u"preview_fps"_s << QJsonObject() << qint64(-1) << u""_s;
    QTest::newRow("fps below minimum") << u"preview_fps=0.001"_s << u"preview_fps"_s << QJsonObject() << qint64(-1)
                                       << u""_s;
    QTest::newRow("fps at minimum") << u"preview_fps=0.01"_s << u""_s << with({{"preview_fps", 0.01}}) << qint64(-1)
                                    << u""_s;
    QTest::newRow("fps 0 = no limit") << u"preview_fps=0"_s << u""_s << with({{"preview_fps", 0}}) << qint64(-1)
                                      << u""_s;
    QTest::newRow("bad flag") << u"envelope=2"_s << u"envelope"_s << QJsonObject() << qint64(-1) << u""_s;
    QTest::newRow("negative since") << u"since=-3"_s << u"since"_s << QJsonObject() << qint64(-1) << u""_s;
    QTest::newRow("text since") << u"since=abc"_s << u"since"_s << QJsonObject() << qint64(-1) << u""_s;
    QStringList many;
    for (int i = 0; i < kRelayMaxListEntries + 1; ++i)
        many << QString::number(i);
    QTest::newRow("too many jobs") << (u"jobs="_s + many.join(u',')) << u"jobs"_s << QJsonObject() << qint64(-1)
                                   << u""_s;
    QTest::newRow("long type") << (u"types="_s + QString(kRelayMaxIdLength + 1, u'x')) << u"types"_s << QJsonObject()
                               << qint64(-1) << u""_s;
}

void TstRelayMessages::queryParsing()
{
    QFETCH(QString, query);
    QFETCH(QString, badParam);
    QFETCH(QJsonObject, subscription);
    QFETCH(qint64, since);
    QFETCH(QString, token);

    QString error;
    const auto options = parseRelayQuery(QUrlQuery(query), &error);
    if (!badParam.isEmpty()) {
        QVERIFY(!options);
        QVERIFY2(error.contains(u"'%1'"_s.arg(badParam)), qPrintable(error));
        return;
    }
    QVERIFY2(options, qPrintable(error));
    QCOMPARE(applied(options->subscription).toJson(), subscription);
    QCOMPARE(options->since.value_or(-1), since);
    QCOMPARE(options->token, token);
}

void TstRelayMessages::queryRoundTrip()
{
    RelaySubscription s;
    s.jobIds = {u"job 1"_s, u"j&2"_s};
    s.types = {u"progress"_s};
    s.previews = PreviewMode::Type4;
    s.previewMaxFps = 7.5;
    s.envelope = true;
    s.binary = true;
    QUrl url(u"ws://127.0.0.1:1/"_s);
    url.setQuery(relayQuery(s, 99, u"t o+k"_s));
    const auto back = parseRelayQuery(QUrlQuery(url));
    QVERIFY(back);
    QCOMPARE(applied(back->subscription), s);
    QCOMPARE(back->since.value_or(-1), 99);
    QCOMPARE(back->token, u"t o+k"_s);

    QVERIFY(relayQuery(RelaySubscription{}).isEmpty()); // defaults are left out
}

// Caught by fuzz_relaymessages' round-trip invariant: preview_fps was written with 6 significant digits,
// so a monitor that reconnected asked for another rate than the one it had (0.1234567 became 0.123457).
void TstRelayMessages::queryKeepsPreviewFpsExactly()
{
    for (const double fps : {0.1234567, 1.0 / 3.0, 999.99999999, 0.01}) { // within the accepted 0.01..1000
        RelaySubscription s;
        s.previewMaxFps = fps;
        const auto back = parseRelayQuery(relayQuery(s));
        QVERIFY(back);
        QCOMPARE(back->subscription.previewMaxFps.value_or(-1), fps);
    }
}

void TstRelayMessages::clientMessages_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QString>("code"); // empty: valid
    QTest::addColumn<int>("request");
    QTest::addColumn<QJsonObject>("subscription"); // the default subscription after the update (valid rows)

    const QJsonObject legacy = RelaySubscription{}.toJson();
    QJsonObject full = legacy;
    full["jobs"_L1] = QJsonArray{"j1"};
    full["types"_L1] = QJsonArray{"executed", "progress"};
    full["previews"_L1] = "type4";
    full["preview_fps"_L1] = 4;
    full["envelope"_L1] = true;
    full["binary"_L1] = true;
    QJsonObject off = legacy;
    off["previews"_L1] = "off";

    const int hello = int(RelayRequest::Hello), subscribe = int(RelayRequest::Subscribe),
              ping = int(RelayRequest::Ping);
    QTest::newRow("hello") << QByteArray(R"({"type":"hello","data":{"protocol":1}})") << u""_s << hello << legacy;
    QTest::newRow("hello full") << QByteArray(
        R"({"type":"hello","data":{"protocol":1,"since":5,"jobs":["j1"],"types":["progress","executed"],)"
        R"("previews":"type4","preview_fps":4,"envelope":true,"binary":true}})")
                                << u""_s << hello << full;
    QTest::newRow("subscribe") << QByteArray(R"({"type":"subscribe","data":{"previews":"off"}})") << u""_s << subscribe
                               << off;
    QTest::newRow("subscribe null jobs") << QByteArray(R"({"type":"subscribe","data":{"jobs":null}})") << u""_s
                                         << subscribe << legacy;
    QTest::newRow("ping") << QByteArray(R"({"type":"ping","data":{"id":"x"}})") << u""_s << ping << legacy;
    QTest::newRow("ping no data") << QByteArray(R"({"type":"ping"})") << u""_s << ping << legacy;

    auto bad = [&](const char *name, const char *text, const char *code) {
        QTest::newRow(name) << QByteArray(text) << QString::fromLatin1(code) << -1 << QJsonObject();
    };
    bad("not json", "hello", RelayErrorCode::InvalidJson);
    bad("truncated", R"({"type":"hello")", RelayErrorCode::InvalidJson);
    bad("array", "[1,2]", RelayErrorCode::InvalidMessage);
    bad("number", "42", RelayErrorCode::InvalidMessage); // valid JSON, not an object
    bad("string", R"( "hello" )", RelayErrorCode::InvalidMessage);
    bad("null", "null", RelayErrorCode::InvalidMessage);
    bad("true", "true", RelayErrorCode::InvalidMessage);
    bad("two values", "1,2", RelayErrorCode::InvalidJson);
    bad("closing bracket", "1]", RelayErrorCode::InvalidJson);
    bad("no type", R"({"data":{}})", RelayErrorCode::InvalidMessage);
    bad("numeric type", R"({"type":3})", RelayErrorCode::InvalidMessage);
    bad("unknown type", R"({"type":"subscribe_to_prompt","data":{}})", RelayErrorCode::UnknownType);
    bad("extra field", R"({"type":"ping","op":1})", RelayErrorCode::InvalidMessage);
    bad("data not object", R"({"type":"ping","data":[1]})", RelayErrorCode::InvalidMessage);
    bad("hello without protocol", R"({"type":"hello","data":{}})", RelayErrorCode::InvalidMessage);
    bad("hello protocol 0", R"({"type":"hello","data":{"protocol":0}})", RelayErrorCode::InvalidMessage);
    bad("hello protocol text", R"({"type":"hello","data":{"protocol":"1"}})", RelayErrorCode::InvalidMessage);
    bad("hello protocol 2", R"({"type":"hello","data":{"protocol":2}})", RelayErrorCode::UnsupportedProtocol);
    bad("since negative", R"({"type":"hello","data":{"protocol":1,"since":-1}})", RelayErrorCode::InvalidMessage);
    bad("since fraction", R"({"type":"hello","data":{"protocol":1,"since":1.5}})", RelayErrorCode::InvalidMessage);
    bad("since in subscribe", R"({"type":"subscribe","data":{"since":1}})", RelayErrorCode::InvalidMessage);
    bad("jobs string", R"({"type":"subscribe","data":{"jobs":"a"}})", RelayErrorCode::InvalidMessage);
    bad("jobs numbers", R"({"type":"subscribe","data":{"jobs":[1]}})", RelayErrorCode::InvalidMessage);
    bad("previews bad", R"({"type":"subscribe","data":{"previews":"yes"}})", RelayErrorCode::InvalidMessage);
    bad("fps too high", R"({"type":"subscribe","data":{"preview_fps":1e6}})", RelayErrorCode::InvalidMessage);
    bad("fps tiny", R"({"type":"subscribe","data":{"preview_fps":1e-300}})", RelayErrorCode::InvalidMessage);
    bad("fps below minimum", R"({"type":"subscribe","data":{"preview_fps":0.005}})", RelayErrorCode::InvalidMessage);
    bad("envelope text", R"({"type":"subscribe","data":{"envelope":"yes"}})", RelayErrorCode::InvalidMessage);
    bad("unknown data field", R"({"type":"subscribe","data":{"previewz":"off"}})", RelayErrorCode::InvalidMessage);
}

void TstRelayMessages::clientMessages()
{
    QFETCH(QByteArray, text);
    QFETCH(QString, code);
    QFETCH(int, request);
    QFETCH(QJsonObject, subscription);

    RelayMessageError error;
    const auto msg = parseRelayClientMessage(text, &error);
    if (!code.isEmpty()) {
        QVERIFY(!msg);
        QCOMPARE(error.code, code);
        QVERIFY(!error.message.isEmpty());
        // The reply is a well-formed relay_error that names the code.
        const QJsonObject reply = QJsonDocument::fromJson(encodeRelayError(error)).object();
        QCOMPARE(reply.value("type"_L1).toString(), u"relay_error"_s);
        QCOMPARE(reply.value("data"_L1).toObject().value("code"_L1).toString(), code);
        return;
    }
    QVERIFY2(msg, qPrintable(error.message));
    QCOMPARE(int(msg->request), request);
    QCOMPARE(applied(msg->subscription).toJson(), subscription);
}

void TstRelayMessages::helloAndSubscribeRoundTrip()
{
    RelaySubscription s;
    s.jobIds = {u"a"_s, u"b"_s};
    s.previews = PreviewMode::Off;
    s.envelope = true;
    const auto hello = parseRelayClientMessage(encodeRelayHello(s, 17));
    QVERIFY(hello);
    QCOMPARE(hello->request, RelayRequest::Hello);
    QCOMPARE(hello->protocol, kRelayProtocolVersion);
    QCOMPARE(hello->since.value_or(-1), 17);
    QCOMPARE(applied(hello->subscription), s);

    RelaySubscriptionUpdate u;
    u.types = QStringList{u"status"_s};
    u.previewMaxFps = 3;
    const auto sub = parseRelayClientMessage(encodeRelaySubscribe(u));
    QVERIFY(sub);
    QCOMPARE(sub->request, RelayRequest::Subscribe);
    QVERIFY(!sub->subscription.jobIds && !sub->subscription.previews && !sub->subscription.envelope);
    QCOMPARE(sub->subscription.types.value(), QStringList{u"status"_s});
    QCOMPARE(sub->subscription.previewMaxFps.value(), 3.0);
}

void TstRelayMessages::envelopeRoundTrip_data()
{
    QTest::addColumn<QString>("jobId");
    QTest::addColumn<QString>("promptId");
    QTest::newRow("plain") << u"job-1"_s << u"p-1"_s;
    QTest::newRow("null ids") << u""_s << u""_s;
    QTest::newRow("escapes") << u"a\"b\\c\nd"_s << u"ä✓😀"_s;
}

void TstRelayMessages::envelopeRoundTrip()
{
    QFETCH(QString, jobId);
    QFETCH(QString, promptId);
    const QByteArray raw = R"({"type": "progress", "data": {"value": 3, "max": 8, "prompt_id": "p"}})";
    const QByteArray env = encodeRelayEnvelope(12, 1764200000123, u"progress"_s, jobId, promptId, raw);
    QVERIFY(env.endsWith(",\"event\":" + raw + "}")); // the event's bytes are embedded unchanged
    for (const char c : env)
        QVERIFY(uchar(c) < 0x80); // ASCII only
    const auto back = parseRelayEnvelope(env);
    QVERIFY(back);
    QCOMPARE(back->seq, 12);
    QCOMPARE(back->timestampMs, 1764200000123);
    QCOMPARE(back->type, u"progress"_s);
    QCOMPARE(back->jobId, jobId);
    QCOMPARE(back->promptId, promptId);
    QCOMPARE(back->event, QJsonDocument::fromJson(raw).object());
    QVERIFY(!parseRelayEnvelope(raw)); // a bare event is not an envelope
}

void TstRelayMessages::controlMessages()
{
    RelaySubscription s;
    s.types = {u"status"_s};
    const QJsonObject welcome = QJsonDocument::fromJson(encodeRelayWelcome(u"relay_welcome"_s, s, 41, 30, 7)).object();
    QCOMPARE(welcome.value("type"_L1).toString(), u"relay_welcome"_s);
    const QJsonObject w = welcome.value("data"_L1).toObject();
    QCOMPARE(w.value("protocol"_L1).toInt(), kRelayProtocolVersion);
    QCOMPARE(w.value("last_seq"_L1).toInteger(), 41);
    QCOMPARE(w.value("subscription"_L1).toObject(), s.toJson());
    QCOMPARE(w.value("replay"_L1).toObject(), obj(R"({"since":30,"count":7})"));
    QVERIFY(!QJsonDocument::fromJson(encodeRelayWelcome(u"relay_subscribed"_s, s, 41))
                 .object()
                 .value("data"_L1)
                 .toObject()
                 .contains("replay"_L1));

    QCOMPARE(QJsonDocument::fromJson(encodeRelayGap(3, 10, 20, u"evicted"_s)).object(),
             obj(R"({"type":"relay_gap","data":{"since":3,"first_seq":10,"last_seq":20,"reason":"evicted"}})"));
    QCOMPARE(QJsonDocument::fromJson(encodeRelayPong(QJsonValue(u"x"_s), 5)).object(),
             obj(R"({"type":"relay_pong","data":{"id":"x","last_seq":5}})"));
    const QJsonObject err
        = QJsonDocument::fromJson(
              encodeRelayError({QString::fromLatin1(RelayErrorCode::UnsupportedProtocol), u"no"_s, u"hello"_s}))
              .object();
    QCOMPARE(err.value("data"_L1).toObject(),
             obj(R"({"code":"unsupported_protocol","message":"no","request":"hello","supported":[1]})"));
    // "type" comes first, as in ComfyUI's frames.
    QVERIFY(encodeRelayGap(1, 2, 3, u"evicted"_s).startsWith(R"({"type":"relay_gap","data":)"));
}

void TstRelayMessages::previewType4WithJobId_data()
{
    QTest::addColumn<QString>("jobId");
    QTest::addColumn<QString>("parent");
    QTest::addColumn<int>("format");
    QTest::newRow("jpeg") << u"job-1"_s << u""_s << int(ImageFormat::Jpeg);
    QTest::newRow("png, parent, no job") << u""_s << u"12"_s << int(ImageFormat::Png);
    QTest::newRow("odd job id") << u"\"ä\""_s << u""_s << int(ImageFormat::Jpeg);
}

void TstRelayMessages::previewType4WithJobId()
{
    QFETCH(QString, jobId);
    QFETCH(QString, parent);
    QFETCH(int, format);
    PreviewMetadata meta{u"3"_s, u"prompt-ü"_s, u"3"_s, parent, u"3"_s};
    const QByteArray image = QByteArray::fromHex("ffd8ffe000104a4649460001") + QByteArray(1000, 'x');
    const QByteArray frame = encodeRelayPreviewType4(meta, jobId, ImageFormat(format), image);

    QCOMPARE(qFromBigEndian<quint32>(frame.constData()), 4u);
    const qsizetype metaLen = qFromBigEndian<quint32>(frame.constData() + 4);
    QCOMPARE(frame.size(), 8 + metaLen + image.size());
    QVERIFY(frame.endsWith(image));
    const QByteArray metaJson = frame.mid(8, metaLen);
    QVERIFY(
        metaJson.endsWith(", \"job_id\": " + (jobId.isEmpty() ? QByteArray("null") : jsonStringLiteral(jobId)) + "}"));
    QVERIFY(metaJson.contains(", \"backend\": null, \"job_id\": "));
    // The same bytes as ComfyUI's layout, plus the backend and job_id members.
    const QByteArray comfy = encodePreviewType4(meta, ImageFormat(format), image);
    const qsizetype comfyLen = qFromBigEndian<quint32>(comfy.constData() + 4);
    QVERIFY(metaJson.startsWith(comfy.mid(8, comfyLen - 1)));

    const auto parsed = parseBinaryFrame(frame); // ComfyUI-compatible parsers still read it
    QVERIFY(parsed && parsed->preview);
    QCOMPARE(parsed->preview->meta.promptId, meta.promptId);
    QCOMPARE(parsed->preview->meta.parentNodeId, parent);
    QCOMPARE(int(parsed->preview->format), format);
    QCOMPARE(parsed->preview->image, image);
    const auto relay = parseRelayPreview(frame);
    QVERIFY(relay);
    QCOMPARE(relay->jobId, jobId);
    QCOMPARE(relay->frame.image, image);
}

void TstRelayMessages::closeReasons()
{
    const QList<RelayCloseCode> codes
        = {RelayCloseCode::Normal,       RelayCloseCode::GoingAway,   RelayCloseCode::MessageTooBig,
           RelayCloseCode::Unauthorized, RelayCloseCode::BadRequest,  RelayCloseCode::TooManyClients,
           RelayCloseCode::TooSlow,      RelayCloseCode::PingTimeout, RelayCloseCode::TooManyErrors};
    QSet<QString> reasons;
    for (RelayCloseCode c : codes) {
        const QString r = relayCloseReason(c);
        QVERIFY(!r.isEmpty() && r.toUtf8().size() <= 123);
        reasons.insert(r);
    }
    QCOMPARE(reasons.size(), codes.size());
    QCOMPARE(quint16(RelayCloseCode::TooSlow), quint16(4008));
    QVERIFY(relayCloseReason(RelayCloseCode::TooSlow).contains(u"since="_s));
}

void TstRelayMessages::subscriptionMatching_data()
{
    QTest::addColumn<QString>("query");
    QTest::addColumn<QString>("type");
    QTest::addColumn<QString>("jobId");
    QTest::addColumn<bool>("json");
    QTest::addColumn<bool>("preview");
    QTest::addColumn<bool>("binary");
    QTest::newRow("legacy, job") << u""_s << u"progress"_s << u"a"_s << true << true << false;
    QTest::newRow("legacy, no job") << u""_s << u"status"_s << u""_s << true << true << false;
    QTest::newRow("job match") << u"jobs=a"_s << u"progress"_s << u"a"_s << true << true << false;
    QTest::newRow("job other") << u"jobs=a"_s << u"progress"_s << u"b"_s << false << false << false;
    QTest::newRow("job, none") << u"jobs=a"_s << u"status"_s << u""_s << false << false << false;
    QTest::newRow("type match") << u"types=progress,status"_s << u"status"_s << u""_s << true << true << false;
    QTest::newRow("type other") << u"types=progress"_s << u"executed"_s << u"a"_s << false << true << false;
    QTest::newRow("previews off") << u"previews=off"_s << u"progress"_s << u"a"_s << true << false << false;
    QTest::newRow("binary on") << u"binary=1"_s << u"progress"_s << u"a"_s << true << true << true;
    QTest::newRow("binary, job other") << u"binary=1&jobs=b"_s << u"progress"_s << u"a"_s << false << false << false;
}

void TstRelayMessages::subscriptionMatching()
{
    QFETCH(QString, query);
    QFETCH(QString, type);
    QFETCH(QString, jobId);
    QFETCH(bool, json);
    QFETCH(bool, preview);
    QFETCH(bool, binary);
    const auto options = parseRelayQuery(QUrlQuery(query));
    QVERIFY(options);
    const RelaySubscription s = applied(options->subscription);
    QCOMPARE(s.acceptsJson(type, jobId), json);
    QCOMPARE(s.acceptsPreview(jobId), preview);
    QCOMPARE(s.acceptsBinary(jobId), binary);
    QCOMPARE(s.isLegacy(), query.isEmpty());
}

QTEST_GUILESS_MAIN(TstRelayMessages)
#include "tst_relaymessages.moc"
