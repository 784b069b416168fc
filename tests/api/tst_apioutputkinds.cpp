// Every kind of output, end to end against the fake ComfyUI: a graph with the simulator's output nodes (GIF,
// MP4, WAV, glTF, an unknown key, text) and SaveImage; each is a job output with its kind, media and content
// type, the text inline in the job JSON, and each downloads with its bytes, Accept-Ranges and single byte
// ranges (206, Content-Range, 416), both when ComfyUI's /view serves the range (aiohttp does) and when it
// ignores Range and answers 200 (the runner slices).

#include "tests/api/apitestenv.h"

#include <QFile>
#include <QJsonArray>
#include <QSignalSpy>
#include <QtTest>

#include <optional>

using namespace cr;
using namespace cr::testing;

namespace {

const QString kCaption = QStringLiteral("a lighthouse at dusk, «35 mm» — text output");

QByteArray graphWithEveryKind()
{
    QFile f(QStringLiteral(CR_SOURCE_DIR "/workflows/sd15_txt2img.json"));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QJsonObject graph = QJsonDocument::fromJson(f.readAll()).object();
    const QJsonArray decoded{QStringLiteral("8"), 0};
    const char *savers[][2] = {{"20", "SimSaveAnimated"},
                               {"21", "SimSaveVideo"},
                               {"22", "SimSaveAudio"},
                               {"23", "SimSave3D"},
                               {"24", "SimSaveBlob"}};
    for (const auto &s : savers)
        graph.insert(QString::fromLatin1(s[0]),
                     QJsonObject{{QStringLiteral("class_type"), QString::fromLatin1(s[1])},
                                 {QStringLiteral("inputs"),
                                  QJsonObject{{QStringLiteral("images"), decoded},
                                              {QStringLiteral("filename_prefix"), QStringLiteral("kinds")}}}});
    graph.insert(QStringLiteral("25"),
                 QJsonObject{{QStringLiteral("class_type"), QStringLiteral("SimShowText")},
                             {QStringLiteral("inputs"), QJsonObject{{QStringLiteral("text"), kCaption}}}});
    return QJsonDocument(QJsonObject{{QStringLiteral("graph"), graph}, {QStringLiteral("wait"), 30}})
        .toJson(QJsonDocument::Compact);
}

HttpResult get(const QUrl &url, const QByteArray &range = {}, const QByteArray &verb = "GET")
{
    static QNetworkAccessManager nam;
    QNetworkRequest req(url);
    if (!range.isEmpty())
        req.setRawHeader("Range", range);
    QNetworkReply *reply = verb == "HEAD" ? nam.head(req) : nam.sendCustomRequest(req, verb);
    QSignalSpy done(reply, &QNetworkReply::finished);
    if (!reply->isFinished())
        done.wait(10'000);
    HttpResult r = ApiTestEnv::collect(reply);
    reply->deleteLater();
    return r;
}

struct Expected {
    const char *node, *kind, *media, *contentType;
};
// In the job's order: node ids as ComfyUI's history sorts them ("20" < ... < "9").
constexpr Expected kExpected[] = {
    {"20", "gifs", "animated", "image/gif"},
    {"21", "video", "video", "video/mp4"},
    {"22", "audio", "audio", "audio/wav"},
    {"23", "3d", "3d", "model/gltf-binary"},
    {"24", "blobs", "file", "application/octet-stream"},
    {"25", "text", "text", "text/plain; charset=utf-8"},
    {"9", "images", "image", "image/png"},
};

} // namespace

class TstApiOutputKinds : public QObject
{
    Q_OBJECT

private slots:
    void everyKindIsAnOutput();
    void ranges_data();
    void ranges();
    void hostileNodeIdStaysInItsHeader();
};

void TstApiOutputKinds::everyKindIsAnOutput()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    const HttpResult run = env.call("POST", QStringLiteral("/api/v1/jobs"), graphWithEveryKind());
    QCOMPARE(run.status, 200);
    QCOMPARE(run.json()[QStringLiteral("state")].toString(), QStringLiteral("succeeded"));
    const QJsonArray outputs = run.json()[QStringLiteral("outputs")].toArray();
    QCOMPARE(outputs.size(), qsizetype(std::size(kExpected)));
    for (int i = 0; i < outputs.size(); ++i) {
        const QJsonObject o = outputs.at(i).toObject();
        const Expected &e = kExpected[i];
        QCOMPARE(o[QStringLiteral("index")].toInt(), i);
        QCOMPARE(o[QStringLiteral("node_id")].toString(), QString::fromLatin1(e.node));
        QCOMPARE(o[QStringLiteral("kind")].toString(), QString::fromLatin1(e.kind));
        QCOMPARE(o[QStringLiteral("media")].toString(), QString::fromLatin1(e.media));
        QCOMPARE(o[QStringLiteral("content_type")].toString(), QString::fromLatin1(e.contentType));

        const HttpResult file = get(env.url(o[QStringLiteral("url")].toString()));
        QCOMPARE(file.status, 200);
        QCOMPARE(file.header("Accept-Ranges"), QByteArray("bytes"));
        QCOMPARE(file.header("Content-Type"), QByteArray(e.contentType));
        QVERIFY(!file.body.isEmpty());
        if (o[QStringLiteral("media")].toString() == u"text") {
            QCOMPARE(o[QStringLiteral("text")].toString(), kCaption); // inline
            QVERIFY(o[QStringLiteral("filename")].toString().isEmpty());
            QCOMPARE(QString::fromUtf8(file.body), kCaption);
            QVERIFY(file.header("Content-Disposition").contains("25-5.txt"));
            continue;
        }
        QVERIFY(o[QStringLiteral("text")].isNull());
        // The same bytes as ComfyUI's own /view.
        QUrl view = env.fake().httpUrl();
        view.setPath(QStringLiteral("/view"));
        view.setQuery(QStringLiteral("filename=%1&subfolder=%2&type=%3")
                          .arg(o[QStringLiteral("filename")].toString(), o[QStringLiteral("subfolder")].toString(),
                               o[QStringLiteral("type")].toString()));
        const HttpResult direct = get(view);
        QCOMPARE(direct.status, 200);
        QCOMPARE(file.body, direct.body);
    }
    // The generated files are what their type says.
    QCOMPARE(get(env.url(outputs.at(0)[QStringLiteral("url")].toString())).body.left(6), QByteArray("GIF89a"));
    QCOMPARE(get(env.url(outputs.at(1)[QStringLiteral("url")].toString())).body.mid(4, 4), QByteArray("ftyp"));
    QCOMPARE(get(env.url(outputs.at(2)[QStringLiteral("url")].toString())).body.left(4), QByteArray("RIFF"));
    QCOMPARE(get(env.url(outputs.at(3)[QStringLiteral("url")].toString())).body.left(4), QByteArray("glTF"));
    // The stored job (GET) says the same as the waited answer.
    const HttpResult again
        = env.call("GET", QStringLiteral("/api/v1/jobs/%1").arg(run.json()[QStringLiteral("id")].toString()));
    QCOMPARE(again.json()[QStringLiteral("outputs")].toArray(), outputs);
}

void TstApiOutputKinds::ranges_data()
{
    QTest::addColumn<bool>("viewRanges"); // ComfyUI's /view serves Range (aiohttp) or ignores it
    QTest::addColumn<int>("output");      // index: 1 video (300 KiB), 5 text (inline)
    QTest::addColumn<QByteArray>("range");
    QTest::addColumn<int>("status");
    QTest::addColumn<qint64>("first"); // of the expected slice (206); -1: whole
    QTest::addColumn<qint64>("last");
    QTest::addColumn<QByteArray>("sent"); // the Range /view is sent for a file (one range), "" for none
    for (const bool upstream : {true, false}) {
        const char *via = upstream ? "served by /view" : "sliced here";
        auto row = [&](const char *name, int output, const QByteArray &range, int status, qint64 first, qint64 last,
                       std::optional<QByteArray> sent = std::nullopt) {
            QTest::addRow("%s, %s", via, name)
                << upstream << output << range << status << first << last << sent.value_or(range);
        };
        const qint64 video = 24 + 8 + 300 * 1024; // ftyp + mdat header + payload
        row("video first 100", 1, "bytes=0-99", 206, 0, 99);
        row("video middle across reads", 1, "bytes=70000-200000", 206, 70000, 200000);
        row("video from offset", 1, "bytes=300000-", 206, 300000, video - 1);
        row("video suffix", 1, "bytes=-10", 206, video - 10, video - 1);
        row("video last past end clipped", 1, "bytes=307000-999999999", 206, 307000, video - 1);
        row("video past end", 1, "bytes=999999999-", 416, 0, 0);
        row("video no range", 1, QByteArray(), 200, -1, -1);
        // The unit is case-insensitive and whitespace is tolerated; ComfyUI (aiohttp: "^bytes=(\\d*)-(\\d*)$")
        // is sent the range in its one canonical spelling, so that it does not answer 416 to a valid range.
        row("unit in capitals", 1, "Bytes=0-99", 206, 0, 99, "bytes=0-99");
        row("spaces and leading zeros", 1, "bytes= 0070000 - 200000 ", 206, 70000, 200000, "bytes=70000-200000");
        row("suffix in capitals", 1, "BYTES=-10", 206, video - 10, video - 1, "bytes=-10");
        if (upstream) { // answered by the runner itself: the same either way
            row("several ranges ignored", 1, "bytes=0-1,5-6", 200, -1, -1, QByteArray());
            row("other unit ignored", 1, "items=0-1", 200, -1, -1, QByteArray());
        }
        row("text first 5", 5, "bytes=0-4", 206, 0, 4);
        row("text suffix", 5, "bytes=-6", 206, -6, -1);
        row("text past end", 5, "bytes=5000-", 416, 0, 0);
    }
}

void TstApiOutputKinds::ranges()
{
    QFETCH(bool, viewRanges);
    QFETCH(int, output);
    QFETCH(QByteArray, range);
    QFETCH(int, status);
    QFETCH(qint64, first);
    QFETCH(qint64, last);
    QFETCH(QByteArray, sent);

    ApiTestEnv env;
    QVERIFY(env.ok());
    env.fake().setViewRanges(viewRanges);
    const HttpResult run = env.call("POST", QStringLiteral("/api/v1/jobs"), graphWithEveryKind());
    QCOMPARE(run.json()[QStringLiteral("state")].toString(), QStringLiteral("succeeded"));
    const QUrl url
        = env.url(run.json()[QStringLiteral("outputs")].toArray().at(output)[QStringLiteral("url")].toString());
    const QByteArray whole = get(url).body;
    QVERIFY(whole.size() > 0);
    if (first < 0 && status == 206) { // suffix of the text: from its end
        first = whole.size() + first;
        last = whole.size() - 1;
    }

    const int viewsBefore = int(env.fake().viewRanges().size());
    const HttpResult r = get(url, range);
    QCOMPARE(r.status, status);
    QCOMPARE(r.header("Accept-Ranges"), QByteArray("bytes"));
    if (status == 206) {
        QCOMPARE(r.body, whole.mid(first, last - first + 1));
        QCOMPARE(r.header("Content-Range"),
                 "bytes " + QByteArray::number(first) + '-' + QByteArray::number(last) + '/'
                     + QByteArray::number(whole.size()));
        QCOMPARE(r.header("Content-Length"), QByteArray::number(last - first + 1));
    } else if (status == 416) {
        QCOMPARE(r.errorCode(), QStringLiteral("range_not_satisfiable"));
        QCOMPARE(r.header("Content-Range"), "bytes */" + QByteArray::number(whole.size()));
    } else {
        QCOMPARE(r.body, whole);
        QVERIFY(r.header("Content-Range").isEmpty());
    }
    if (output == 1) { // a file: the Range went to ComfyUI, when it was one range
        const QList<QByteArray> ranges = env.fake().viewRanges();
        QCOMPARE(ranges.size(), viewsBefore + 1);
        QCOMPARE(ranges.last(), sent);
    }
    // HEAD with the same range: the same head, no body.
    const HttpResult head = get(url, range, "HEAD");
    QCOMPARE(head.status, status);
    QVERIFY(head.body.isEmpty());
}

// An inline text output without a file name is downloaded as "<node id>-<index>.txt"; the node id is the
// caller's (a key of its graph): quotes, CR and LF in it must not end the header or add another.
void TstApiOutputKinds::hostileNodeIdStaysInItsHeader()
{
    ApiTestEnv env;
    QVERIFY(env.ok());
    QFile f(QStringLiteral(CR_SOURCE_DIR "/workflows/sd15_txt2img.json"));
    QVERIFY(f.open(QIODevice::ReadOnly));
    QJsonObject graph = QJsonDocument::fromJson(f.readAll()).object();
    const QString node = QStringLiteral("t\"\r\nX-Injected: 1\r\n\r\nbody");
    graph.insert(node,
                 QJsonObject{{QStringLiteral("class_type"), QStringLiteral("SimShowText")},
                             {QStringLiteral("inputs"), QJsonObject{{QStringLiteral("text"), kCaption}}}});
    const HttpResult run
        = env.call("POST", QStringLiteral("/api/v1/jobs"),
                   QJsonDocument(QJsonObject{{QStringLiteral("graph"), graph}, {QStringLiteral("wait"), 30}})
                       .toJson(QJsonDocument::Compact));
    QCOMPARE(run.json()[QStringLiteral("state")].toString(), QStringLiteral("succeeded"));
    QString url;
    for (const QJsonValue o : run.json()[QStringLiteral("outputs")].toArray())
        if (o[QStringLiteral("node_id")].toString() == node)
            url = o[QStringLiteral("url")].toString();
    QVERIFY2(!url.isEmpty(), run.body.constData());
    for (const QByteArray &range : {QByteArray(), QByteArray("bytes=0-3")}) {
        const HttpResult r = get(env.url(url), range);
        QCOMPARE(r.status, range.isEmpty() ? 200 : 206);
        QVERIFY(r.header("X-Injected").isEmpty());
        const QByteArray disposition = r.header("Content-Disposition");
        QVERIFY2(disposition.startsWith("inline; filename=\"") && disposition.endsWith(".txt\""),
                 disposition.constData());
        QCOMPARE(disposition.count('"'), 2);
        QCOMPARE(r.body, range.isEmpty() ? kCaption.toUtf8() : kCaption.toUtf8().left(4));
    }
}

QTEST_GUILESS_MAIN(TstApiOutputKinds)
#include "tst_apioutputkinds.moc"
