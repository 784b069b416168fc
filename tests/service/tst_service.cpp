// The whole service as main() builds it (Service, the composition root) against the fake ComfyUI: a job run
// through the REST API is relayed to a legacy relay client (raw ComfyUI JSON, type-1 previews, job events,
// image_generated), the legacy GET /queue works, and start-up failures are clear.

#include "core/service/service.h"
#include "protocol/binaryframe.h"
#include "sim/fakecomfy.h"
#include "tests/service/servicetestenv.h"

#include <QHostInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QWebSocket>
#include <QtTest>

using namespace cr;
using namespace cr::servicetest;

namespace {

// The text input of node 6 (the positive prompt of sd15_txt2img) in the last graph ComfyUI was given.
QString lastPromptText(const sim::FakeComfy &fake)
{
    return fake.lastPromptBody()
        .value(QLatin1String("prompt"))
        .toObject()
        .value(QLatin1String("6"))
        .toObject()
        .value(QLatin1String("inputs"))
        .toObject()
        .value(QLatin1String("text"))
        .toString();
}

} // namespace

class TstService : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void jobIsRelayedToLegacyClients();
    void legacyQueueRoute();
    void portInUseIsAClearStartupError();
    void imageUrlNamesAUsableHost_data();
    void imageUrlNamesAUsableHost();

private:
    Config config() const { return exampleConfig(*m_fake, m_data.path()); }
    QUrl api(const QString &path) const { return apiUrl(*m_service, path); }
    bool waitReady() { return servicetest::waitReady(m_nam, *m_service); }

    QTemporaryDir m_data;
    std::unique_ptr<sim::FakeComfy> m_fake;
    std::unique_ptr<Service> m_service;
    QNetworkAccessManager m_nam;
};

void TstService::init()
{
    m_fake = startQuickFake();
    QVERIFY(m_fake);
    m_fake->setPreviewSize(64);
    m_service = std::make_unique<Service>(config());
    QString error;
    QVERIFY2(m_service->start(&error), qPrintable(error));
    QVERIFY(m_service->httpPort() != 0);
    QVERIFY(m_service->relayPort() != 0);
    QVERIFY(waitReady());
}

void TstService::cleanup()
{
    m_service.reset();
    m_fake.reset();
}

void TstService::jobIsRelayedToLegacyClients()
{
    // A client of the Python project: connects with no options at all.
    QWebSocket legacy;
    QList<QByteArray> texts;
    QList<QByteArray> binaries;
    connect(&legacy, &QWebSocket::textMessageReceived, this, [&texts](const QString &t) { texts << t.toUtf8(); });
    connect(&legacy, &QWebSocket::binaryMessageReceived, this, [&binaries](const QByteArray &b) { binaries << b; });
    QSignalSpy open(&legacy, &QWebSocket::connected);
    legacy.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(m_service->relayPort())));
    QVERIFY(open.wait(5000));

    const HttpResult r
        = request(m_nam, "POST", api(QStringLiteral("/api/v1/jobs")),
                  {{QStringLiteral("workflow"), QStringLiteral("sd15_txt2img")},
                   {QStringLiteral("inputs"), QJsonObject{{QStringLiteral("prompt"), QStringLiteral("a red fox")}}},
                   {QStringLiteral("wait"), true}});
    QVERIFY2(r.status == 200, r.body.constData());
    const QString jobId = r.json.value(QLatin1String("id")).toString();
    QCOMPARE(r.json.value(QLatin1String("state")).toString(), QStringLiteral("succeeded"));
    // The input reached ComfyUI.
    QCOMPARE(lastPromptText(*m_fake), QStringLiteral("a red fox"));

    auto has = [&texts](const QString &type, const QString &id) {
        for (const QByteArray &t : texts) {
            const QJsonObject o = QJsonDocument::fromJson(t).object();
            // image_generated is flat (the Python project's shape); every other event has "data".
            const QJsonObject d = o.contains(QLatin1String("data")) ? o.value(QLatin1String("data")).toObject() : o;
            if (o.value(QLatin1String("type")).toString() == type
                && (d.value(QLatin1String("prompt_id")).toString() == id
                    || d.value(QLatin1String("job_id")).toString() == id))
                return true;
        }
        return false;
    };
    QTRY_VERIFY_WITH_TIMEOUT(has(QStringLiteral("image_generated"), jobId), 5000);
    QVERIFY(has(QStringLiteral("execution_start"), jobId));
    QVERIFY(has(QStringLiteral("job_queued"), jobId));
    QVERIFY(has(QStringLiteral("job_started"), jobId));
    QVERIFY(has(QStringLiteral("job_finished"), jobId));
    QVERIFY(!has(QStringLiteral("feature_flags"), QString()));
    // Previews arrive in ComfyUI's type-1 layout although ComfyUI sent type 4.
    QCOMPARE(binaries.size(), 3);
    for (const QByteArray &b : binaries) {
        const auto frame = protocol::parseBinaryFrame(b);
        QVERIFY(frame && frame->preview);
        QCOMPARE(frame->type, 1u);
        QVERIFY(frame->preview->image.startsWith("\xFF\xD8\xFF"));
    }
    // image_generated names an output URL served by this service.
    for (const QByteArray &t : texts) {
        const QJsonObject o = QJsonDocument::fromJson(t).object();
        if (o.value(QLatin1String("type")).toString() != QLatin1String("image_generated"))
            continue;
        QVERIFY(!o.contains(QLatin1String("data")));
        QCOMPARE(o.value(QLatin1String("STATUS")).toString(), QStringLiteral("Workflow completed successfully"));
        QCOMPARE(o.value(QLatin1String("prompt_id")).toString(), jobId);
        QVERIFY(o.value(QLatin1String("image_filename")).toString().endsWith(QLatin1String(".png")));
        const QUrl url(o.value(QLatin1String("image_url")).toString());
        QCOMPARE(url.port(), int(m_service->httpPort()));
        const HttpResult png = request(m_nam, "GET", url);
        QCOMPARE(png.status, 200);
        QVERIFY(png.body.startsWith("\x89PNG"));
    }
}

void TstService::legacyQueueRoute()
{
    const HttpResult text = request(m_nam, "POST", api(QStringLiteral("/update/text")),
                                    {{QStringLiteral("text"), QStringLiteral("a lighthouse")}});
    QCOMPARE(text.status, 200);
    const HttpResult r = request(m_nam, "GET", api(QStringLiteral("/queue")));
    QCOMPARE(r.status, 200);
    QVERIFY(r.json.value(QLatin1String("image_filename")).toString().endsWith(QLatin1String(".png")));
    QVERIFY(!r.json.value(QLatin1String("prompt_id")).toString().isEmpty());
    QCOMPARE(r.json.value(QLatin1String("images")).toArray().size(), 1);
    QCOMPARE(lastPromptText(*m_fake), QStringLiteral("a lighthouse"));
}

void TstService::portInUseIsAClearStartupError()
{
    QTcpServer squatter;
    QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
    Config c = config();
    c.http.port = squatter.serverPort();
    Service second(c);
    QString error;
    QVERIFY(!second.start(&error));
    QVERIFY2(error.contains(QString::number(squatter.serverPort())), qPrintable(error));
    QVERIFY2(error.startsWith(QStringLiteral("the REST API cannot start")), qPrintable(error));
}

void TstService::imageUrlNamesAUsableHost_data()
{
    QTest::addColumn<QString>("host");
    QTest::newRow("*") << QStringLiteral("*");
    QTest::newRow("0.0.0.0") << QStringLiteral("0.0.0.0");
    QTest::newRow("::") << QStringLiteral("::");
}

// With the API on every interface, image_generated (which answers no request) still names a host a client
// can use: the machine's name (127.0.0.1 when it has none), never "*", "0.0.0.0" or "::".
void TstService::imageUrlNamesAUsableHost()
{
    QFETCH(QString, host);
    m_service.reset();
    Config c = config();
    c.http.host = host;
    c.allowUnauthenticatedNetwork = true;
    m_service = std::make_unique<Service>(c);
    QString error;
    QVERIFY2(m_service->start(&error), qPrintable(error));
    QVERIFY(waitReady());
    QWebSocket legacy;
    QList<QJsonObject> generated;
    connect(&legacy, &QWebSocket::textMessageReceived, this, [&generated](const QString &t) {
        const QJsonObject o = QJsonDocument::fromJson(t.toUtf8()).object();
        if (o.value(QLatin1String("type")).toString() == QLatin1String("image_generated"))
            generated << o; // flat, as the Python project sent it
    });
    QSignalSpy open(&legacy, &QWebSocket::connected);
    legacy.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(m_service->relayPort())));
    QVERIFY(open.wait(5000));
    const HttpResult r
        = request(m_nam, "POST", api(QStringLiteral("/api/v1/jobs")),
                  {{QStringLiteral("workflow"), QStringLiteral("sd15_txt2img")}, {QStringLiteral("wait"), true}});
    QVERIFY2(r.status == 200, r.body.constData());
    QTRY_COMPARE_WITH_TIMEOUT(generated.size(), 1, 5000);
    const QString text = generated.first().value(QLatin1String("image_url")).toString();
    const QUrl url(text, QUrl::StrictMode);
    QVERIFY2(url.isValid(), qPrintable(text));
    const QString name = QHostInfo::localHostName();
    QCOMPARE(url.host(), name.isEmpty() ? QStringLiteral("127.0.0.1") : name.toLower());
    QCOMPARE(url.port(), int(m_service->httpPort()));
    QVERIFY(url.path().endsWith(QLatin1String("/outputs/0")));
}

QTEST_GUILESS_MAIN(TstService)
#include "tst_service.moc"
