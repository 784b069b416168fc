// Every kind of output ComfyUI's "executed" and /history report (images, gifs, video, audio, text, 3d and keys
// no core node uses), as the UI dicts of the nodes that make them: what outputFilesFrom collects, and the
// media and content type outputkind.h gives each, the text inline.

#include "protocol/comfyevents.h"
#include "protocol/jobrecord.h"
#include "protocol/outputkind.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

using namespace cr::protocol;

class TstOutputKind : public QObject
{
    Q_OBJECT

private slots:
    void kinds_data();
    void kinds();
    void textIsInline();
    void animatedFlagAndFormat();
    void jobJsonCarriesMediaAndText();
    void olderRecordStillShowsImages();
};

void TstOutputKind::kinds_data()
{
    QTest::addColumn<QByteArray>("ui"); // a node's UI output dict as ComfyUI sends it
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("media");
    QTest::addColumn<QString>("contentType");
    // SaveImage (capture I_multi_output)
    QTest::newRow("SaveImage png") << QByteArray(
        R"({"images": [{"filename": "rec_multi_a_00001_.png", "subfolder": "", "type": "output"}]})")
                                   << "images"
                                   << "image"
                                   << "image/png";
    // SaveAnimatedWEBP: images + "animated": [true]
    QTest::newRow("SaveAnimatedWEBP") << QByteArray(
        R"({"images": [{"filename": "a_00001_.webp", "subfolder": "", "type": "output"}], "animated": [true]})")
                                      << "images"
                                      << "animated"
                                      << "image/webp";
    // SaveWEBM / SaveVideo: images + animated, a video file
    QTest::newRow("SaveWEBM") << QByteArray(
        R"({"images": [{"filename": "v_00001_.webm", "subfolder": "", "type": "output"}], "animated": [true]})")
                              << "images"
                              << "video"
                              << "video/webm";
    // VideoHelperSuite's VHS_VideoCombine: "gifs" with a format
    QTest::newRow("VHS gif") << QByteArray(
        R"({"gifs": [{"filename": "AnimateDiff_00001.gif", "subfolder": "", "type": "output", "format": "image/gif", "frame_rate": 8.0}]})")
                             << "gifs"
                             << "animated"
                             << "image/gif";
    QTest::newRow("VHS mp4") << QByteArray(
        R"({"gifs": [{"filename": "AnimateDiff_00002.mp4", "subfolder": "", "type": "output", "format": "video/h264-mp4"}]})")
                             << "gifs"
                             << "video"
                             << "video/mp4";
    QTest::newRow("video key") << QByteArray(
        R"({"video": [{"filename": "clip_00001_.mov", "subfolder": "vids", "type": "output"}]})")
                               << "video"
                               << "video"
                               << "video/quicktime";
    // SaveAudio / PreviewAudio
    QTest::newRow("SaveAudio flac") << QByteArray(
        R"({"audio": [{"filename": "ComfyUI_00001_.flac", "subfolder": "audio", "type": "output"}]})")
                                    << "audio"
                                    << "audio"
                                    << "audio/flac";
    QTest::newRow("SaveAudioMP3") << QByteArray(
        R"({"audio": [{"filename": "ComfyUI_00001_.mp3", "subfolder": "", "type": "output"}]})")
                                  << "audio"
                                  << "audio"
                                  << "audio/mpeg";
    // SaveGLB
    QTest::newRow("SaveGLB") << QByteArray(
        R"({"3d": [{"filename": "mesh_00001_.glb", "subfolder": "3d", "type": "output"}]})")
                             << "3d"
                             << "3d"
                             << "model/gltf-binary";
    QTest::newRow("3d obj") << QByteArray(R"({"3d": [{"filename": "mesh.obj", "subfolder": "", "type": "output"}]})")
                            << "3d"
                            << "3d"
                            << "model/obj";
    // a custom node's key and extension nobody knows
    QTest::newRow("unknown key") << QByteArray(
        R"({"blobs": [{"filename": "x_00001_.bin", "subfolder": "", "type": "output"}]})")
                                 << "blobs"
                                 << "file"
                                 << "application/octet-stream";
    QTest::newRow("unknown key, known suffix")
        << QByteArray(R"({"meshes": [{"filename": "m.stl", "subfolder": "", "type": "output"}]})") << "meshes"
        << "3d"
        << "model/stl";
    QTest::newRow("text file") << QByteArray(
        R"({"files": [{"filename": "caption.txt", "subfolder": "", "type": "output"}]})")
                               << "files"
                               << "text"
                               << "text/plain; charset=utf-8";
}

void TstOutputKind::kinds()
{
    QFETCH(QByteArray, ui);
    QFETCH(QString, kind);
    QFETCH(QString, media);
    QFETCH(QString, contentType);
    const QList<OutputFile> files = outputFilesFrom(QJsonDocument::fromJson(ui).object());
    QCOMPARE(files.size(), 1);
    QCOMPARE(files.first().kind, kind);
    QVERIFY(!files.first().isInlineText());
    QCOMPARE(outputMedia(files.first()), media);
    QCOMPARE(outputContentType(files.first()), contentType);
}

void TstOutputKind::textIsInline()
{
    // PreviewAny / ShowText: strings, no file; "animated" and Preview3D's "result" paths are not outputs.
    const QJsonObject ui
        = QJsonDocument::fromJson(
              R"({"text": ["a cat, 4k", "second"], "animated": [false], "result": ["mesh.glb", null]})")
              .object();
    const QList<OutputFile> files = outputFilesFrom(ui);
    QCOMPARE(files.size(), 2);
    QVERIFY(files.at(0).isInlineText());
    QCOMPARE(files.at(0).text, QStringLiteral("a cat, 4k"));
    QCOMPARE(files.at(1).text, QStringLiteral("second"));
    QCOMPARE(outputMedia(files.at(0)), QStringLiteral("text"));
    QCOMPARE(outputContentType(files.at(0)), QStringLiteral("text/plain; charset=utf-8"));
    QCOMPARE(outputDownloadName(files.at(1), QStringLiteral("12"), 3), QStringLiteral("12-3.txt"));
}

void TstOutputKind::animatedFlagAndFormat()
{
    const QList<OutputFile> files = outputFilesFrom(
        QJsonDocument::fromJson(
            R"({"images": [{"filename": "a.png", "subfolder": "", "type": "output"}], "animated": [true]})")
            .object());
    QCOMPARE(files.size(), 1);
    QVERIFY(files.first().animated);
    QCOMPARE(outputMedia(files.first()), QStringLiteral("animated")); // APNG
    const QList<OutputFile> plain = outputFilesFrom(
        QJsonDocument::fromJson(
            R"({"images": [{"filename": "a.png", "subfolder": "", "type": "output"}], "animated": [false]})")
            .object());
    QCOMPARE(outputMedia(plain.first()), QStringLiteral("image"));
    const QList<OutputFile> vhs = outputFilesFrom(
        QJsonDocument::fromJson(
            R"({"gifs": [{"filename": "noext", "subfolder": "", "type": "output", "format": "video/h265-mp4"}]})")
            .object());
    QCOMPARE(vhs.first().format, QStringLiteral("video/h265-mp4"));
    QCOMPARE(outputMedia(vhs.first()), QStringLiteral("video"));
}

void TstOutputKind::jobJsonCarriesMediaAndText()
{
    JobRecord job;
    job.id = QStringLiteral("j1");
    job.state = JobState::Succeeded;
    job.outputs = {{0, QStringLiteral("9"), QStringLiteral("a.mp4"), QString(), QStringLiteral("output"),
                    QStringLiteral("video"), QStringLiteral("/api/v1/jobs/j1/outputs/0"), QStringLiteral("video"),
                    QStringLiteral("video/mp4"), QString()},
                   {1, QStringLiteral("12"), QString(), QString(), QString(), QStringLiteral("text"),
                    QStringLiteral("/api/v1/jobs/j1/outputs/1"), QStringLiteral("text"),
                    QStringLiteral("text/plain; charset=utf-8"), QStringLiteral("hello")}};
    const QJsonObject o = encodeJob(job);
    const QJsonArray outs = o.value(QStringLiteral("outputs")).toArray();
    QCOMPARE(outs.at(0)[QStringLiteral("media")].toString(), QStringLiteral("video"));
    QCOMPARE(outs.at(0)[QStringLiteral("content_type")].toString(), QStringLiteral("video/mp4"));
    QVERIFY(outs.at(0)[QStringLiteral("text")].isNull());
    QCOMPARE(outs.at(1)[QStringLiteral("text")].toString(), QStringLiteral("hello"));
    const std::optional<JobRecord> back = parseJob(o);
    QVERIFY(back);
    QCOMPARE(back->outputs, job.outputs);
    QVERIFY(!back->outputs.at(0).isImage());
}

void TstOutputKind::olderRecordStillShowsImages()
{
    // A runner before "media": kind and extension decide, as before.
    const std::optional<JobRecord> job
        = parseJob(QJsonDocument::fromJson(
                       R"({"id": "x", "outputs": [{"index": 0, "filename": "a.png", "kind": "images"},
                                   {"index": 1, "filename": "b.gif", "kind": "gifs"},
                                   {"index": 2, "filename": "c.wav", "kind": "audio"}]})")
                       .object());
    QVERIFY(job);
    QVERIFY(job->outputs.at(0).isImage());
    QVERIFY(job->outputs.at(1).isImage());
    QVERIFY(!job->outputs.at(2).isImage());
}

QTEST_GUILESS_MAIN(TstOutputKind)
#include "tst_outputkind.moc"
