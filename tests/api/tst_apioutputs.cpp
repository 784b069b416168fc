// GET /api/v1/jobs/{id}/outputs/{i} against a scripted upstream (a raw TCP server on port 0 standing in for
// ComfyUI's /view): 200 is streamed through; every other answer (204, 206, a redirect that is not followed,
// 404, 500) and a connection closed without an answer gets exactly one error answer, and no download object
// is left behind. The job comes from a JobStore, so no ComfyUI run is needed.

#include "core/api/apiserver.h"
#include "core/comfy/comfyclient.h"
#include "core/jobs/jobmanager.h"
#include "core/jobs/jobstore.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>

using namespace cr;

namespace {

const QString kJobId = QStringLiteral("11111111-2222-3333-4444-555555555555");

// Answers every request (once its head is complete) with the same raw bytes; empty bytes: closes at once.
class ScriptedUpstream final : public QObject
{
    Q_DISABLE_COPY_MOVE(ScriptedUpstream)

public:
    explicit ScriptedUpstream(QByteArray answer) : m_answer(std::move(answer))
    {
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *s = m_server.nextPendingConnection()) {
                connect(s, &QAbstractSocket::disconnected, s, &QObject::deleteLater);
                connect(s, &QIODevice::readyRead, s, [this, s] {
                    m_buffer[s] += s->readAll();
                    if (!m_buffer[s].contains("\r\n\r\n"))
                        return;
                    m_requests.append(m_buffer[s].left(m_buffer[s].indexOf("\r\n")));
                    m_buffer.remove(s);
                    if (m_answer.isEmpty())
                        s->abort();
                    else
                        s->write(m_answer);
                });
            }
        });
        m_server.listen(QHostAddress::LocalHost, 0);
    }
    QUrl url() const { return QUrl(QStringLiteral("http://127.0.0.1:%1").arg(m_server.serverPort())); }
    QList<QByteArray> requests() const { return m_requests; }

private:
    QTcpServer m_server;
    QByteArray m_answer;
    QHash<QTcpSocket *, QByteArray> m_buffer;
    QList<QByteArray> m_requests; // request lines
};

struct Answer {
    int status = 0;
    QByteArray body;
    QNetworkReply::NetworkError error = QNetworkReply::NoError;
    QJsonObject json() const
    {
        return QJsonDocument::fromJson(body).object().value(QStringLiteral("error")).toObject();
    }
};

} // namespace

class TstApiOutputs : public QObject
{
    Q_OBJECT

private slots:
    void upstreamAnswers_data();
    void upstreamAnswers();
};

void TstApiOutputs::upstreamAnswers_data()
{
    QTest::addColumn<QByteArray>("upstream"); // ComfyUI's raw answer ("" = connection closed)
    QTest::addColumn<int>("status");          // ours
    QTest::addColumn<QString>("code");        // error code ("" = the file)
    QTest::addColumn<int>("upstreamStatus");  // details.status of comfy_error (0: not checked)
    QTest::newRow("200 streamed") << QByteArray(
        "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 7\r\n\r\nPNGDATA")
                                  << 200 << QString() << 0;
    QTest::newRow("204") << QByteArray("HTTP/1.1 204 No Content\r\n\r\n") << 502 << QStringLiteral("comfy_error")
                         << 204;
    QTest::newRow("206") << QByteArray("HTTP/1.1 206 Partial Content\r\nContent-Type: image/png\r\n"
                                       "Content-Range: bytes 0-3/7\r\nContent-Length: 4\r\n\r\nPNGD")
                         << 502 << QStringLiteral("comfy_error") << 206;
    QTest::newRow("302 without Location")
        << QByteArray("HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n") << 502 << QStringLiteral("comfy_error") << 302;
    QTest::newRow("500") << QByteArray("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops") << 502
                         << QStringLiteral("comfy_error") << 500;
    QTest::newRow("404") << QByteArray("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n") << 404
                         << QStringLiteral("output_not_found") << 0;
    QTest::newRow("closed without answer") << QByteArray() << 502 << QStringLiteral("comfy_unreachable") << 0;
}

void TstApiOutputs::upstreamAnswers()
{
    QFETCH(QByteArray, upstream);
    QFETCH(int, status);
    QFETCH(QString, code);
    QFETCH(int, upstreamStatus);

    ScriptedUpstream comfyView(upstream);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    JobStore store(dir.filePath(QStringLiteral("jobs.sqlite")));
    QVERIFY2(store.isOpen(), qPrintable(store.error()));
    Job job;
    job.id = kJobId;
    job.workflow = QStringLiteral("sd15");
    job.state = JobState::Succeeded;
    job.createdAt = job.startedAt = job.finishedAt = QDateTime::currentDateTimeUtc();
    job.outputs
        = {NodeOutputFile{QStringLiteral("9"),
                          {QStringLiteral("images"), QStringLiteral("out.png"), QString(), QStringLiteral("output")}}};
    QVERIFY(store.save(job));

    Config config;
    config.comfy.url = comfyView.url();
    config.comfy.requestTimeoutMs = 5000;
    config.http.host = QStringLiteral("127.0.0.1");
    config.http.port = 0;
    ComfyClient comfy(config.comfy, QStringLiteral("outputs-test")); // never started: only its HTTP side is used
    JobManager jobs(&comfy, &store);
    QCOMPARE(jobs.restore(), 1);
    ApiContext ctx;
    ctx.jobs = &jobs;
    ctx.comfy = &comfy;
    ctx.config = config;
    ApiServer server(ctx);
    QString error;
    QVERIFY2(server.listen(&error), qPrintable(error));

    QNetworkAccessManager nam;
    QNetworkReply *reply = nam.get(QNetworkRequest(
        QUrl(QStringLiteral("http://127.0.0.1:%1/api/v1/jobs/%2/outputs/0").arg(server.port()).arg(kJobId))));
    QSignalSpy finished(reply, &QNetworkReply::finished);
    QVERIFY2(finished.wait(10'000), "the client was never answered");
    Answer a{reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), reply->readAll(), reply->error()};
    delete reply;

    QVERIFY(!comfyView.requests().isEmpty()); // Qt retries once on a connection closed without an answer
    for (const QByteArray &line : comfyView.requests())
        QVERIFY(line.startsWith("GET /view?"));
    QCOMPARE(a.status, status);
    if (code.isEmpty()) {
        QCOMPARE(a.body, QByteArray("PNGDATA"));
    } else {
        QCOMPARE(a.json().value(QStringLiteral("code")).toString(), code);
        if (upstreamStatus != 0)
            QCOMPARE(a.json().value(QStringLiteral("details")).toObject().value(QStringLiteral("status")).toInt(),
                     upstreamStatus);
    }
    QTRY_COMPARE_WITH_TIMEOUT(server.downloadCount(), 0, 5000); // the download object is gone
}

QTEST_GUILESS_MAIN(TstApiOutputs)
#include "tst_apioutputs.moc"
