// ComfyUI served under a base path ([comfy] url = "http://host:port/comfy", behind a reverse proxy): every call
// to it keeps the prefix: the WebSocket (its events drive the job), POST /prompt, /history, the output
// download through /view and the upload to /upload/image.

#include "tests/api/apitestenv.h"

#include <QJsonArray>
#include <QtTest>

using namespace cr;
using namespace cr::testing;

class TstApiComfyBasePath : public QObject
{
    Q_OBJECT

private slots:
    void everyCallKeepsTheBasePath();
};

void TstApiComfyBasePath::everyCallKeepsTheBasePath()
{
    ApiTestEnv env({}, {}, QStringLiteral("/comfy"));
    QVERIFY2(env.ok(), "the WebSocket did not connect under /comfy/ws");
    QCOMPARE(env.fake().httpUrl().path(), QStringLiteral("/comfy"));

    HttpResult r = env.call("POST", QStringLiteral("/api/v1/jobs"), R"({"workflow": "sd15", "wait": true})");
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json()[QStringLiteral("state")].toString(), QStringLiteral("succeeded"));
    const QString id = r.json()[QStringLiteral("id")].toString();
    QCOMPARE(r.json()[QStringLiteral("outputs")].toArray().size(), 1);

    r = env.call("GET", QStringLiteral("/api/v1/jobs/%1/outputs/0").arg(id));
    QCOMPARE(r.status, 200);
    QVERIFY(r.body.startsWith("\x89PNG"));

    const QByteArray png = QByteArray::fromBase64(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");
    const QByteArray boundary = "b0undary";
    const QByteArray body = "--" + boundary
        + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"dot.png\"\r\n"
          "Content-Type: image/png\r\n\r\n"
        + png + "\r\n--" + boundary + "--\r\n";
    r = env.call("POST", QStringLiteral("/api/v1/uploads"), body, "multipart/form-data; boundary=" + boundary);
    QCOMPARE(r.status, 201);

    const QStringList log = env.fake().requestLog();
    for (const QString &what : {QStringLiteral("POST /comfy/prompt"), QStringLiteral("GET /comfy/view"),
                                QStringLiteral("POST /comfy/upload/image")})
        QVERIFY2(log.contains(what),
                 qPrintable(what + QStringLiteral(" missing in: ") + log.join(QStringLiteral(", "))));
    for (const QString &line : log)
        QVERIFY2(line.section(u' ', 1).startsWith(QLatin1String("/comfy/")), qPrintable(line));
}

QTEST_GUILESS_MAIN(TstApiComfyBasePath)
#include "tst_apicomfybasepath.moc"
