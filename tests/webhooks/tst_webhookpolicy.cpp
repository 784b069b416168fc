// The pieces of webhooks that need no socket: the Standard Webhooks signature against the specification's
// published test vector and an HMAC computed here, the whsec_ secret form, the refused addresses and the
// allow list, and the [webhooks] section of the config loader (errors with file:line).

#include "core/config/configloader.h"
#include "core/config/webhookpolicy.h"
#include "core/webhooks/webhookdispatcher.h"
#include "core/webhooks/webhooksignature.h"

#include <QMessageAuthenticationCode>
#include <QtTest>

using namespace cr;
namespace policy = cr::webhookpolicy;

class TstWebhookPolicy : public QObject
{
    Q_OBJECT

private slots:
    void signatureMatchesTheSpecificationVector();
    void signatureMatchesAnIndependentHmac();
    void retrySchedule();
    void secretForm_data();
    void secretForm();
    void forbiddenAddresses_data();
    void forbiddenAddresses();
    void resolvedHostsAndTheAllowList();
    void configSection_data();
    void configSection();
    void configValues();
};

void TstWebhookPolicy::signatureMatchesTheSpecificationVector()
{
    // https://github.com/standard-webhooks/standard-webhooks (spec and libraries' tests).
    const std::optional<QByteArray> key
        = policy::decodeSecret(QStringLiteral("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    QVERIFY(key);
    QCOMPARE(webhookSignature(*key, QStringLiteral("msg_p5jXN8AQM9LWM0D4loKWxJek"), 1614265330,
                              QByteArrayLiteral("{\"test\": 2432232314}")),
             QByteArrayLiteral("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
}

void TstWebhookPolicy::signatureMatchesAnIndependentHmac()
{
    const QByteArray key = QByteArray::fromHex("00112233445566778899aabbccddeeff0011223344556677");
    const QByteArray body = QByteArrayLiteral("{\"type\":\"job_finished\",\"data\":{\"id\":\"é\"}}");
    const QByteArray expected = "v1,"
        + QMessageAuthenticationCode::hash("msg_1.1700000000." + body, key, QCryptographicHash::Sha256).toBase64();
    QCOMPARE(webhookSignature(key, QStringLiteral("msg_1"), 1700000000, body), expected);
    QVERIFY(webhookSignature(key, QStringLiteral("msg_1"), 1700000001, body) != expected);
    QVERIFY(webhookSignature(key, QStringLiteral("msg_2"), 1700000000, body) != expected);
}

void TstWebhookPolicy::retrySchedule()
{
    const WebhookSettings defaults;
    // Without jitter (unit 0.5): 20 s x 4^(n-1), capped at 12 h.
    const QList<qint64> expected{20'000, 80'000, 320'000, 1'280'000, 5'120'000, 20'480'000, 43'200'000};
    qint64 total = 0;
    for (int n = 1; n <= 7; ++n) {
        QCOMPARE(WebhookDispatcher::retryDelayMs(defaults, n, 0.5), expected.at(n - 1));
        total += WebhookDispatcher::retryDelayMs(defaults, n, 0.5);
    }
    // The 7 waits between the default 8 attempts: about a day (19.6 h), 15.7 h to 23.5 h with the jitter.
    QVERIFY(total > 18 * 3600'000ll && total < 21 * 3600'000ll);
    QCOMPARE(WebhookDispatcher::retryDelayMs(defaults, 1, 0.0), 16'000);
    QCOMPARE(WebhookDispatcher::retryDelayMs(defaults, 1, 0.999999), 23'999);
    QCOMPARE(WebhookDispatcher::retryDelayMs(defaults, 30, 0.5), 43'200'000); // no overflow past the cap
    WebhookSettings fast;
    fast.retryDelayMs = 20;
    fast.retryMaxDelayMs = 100;
    QCOMPARE(WebhookDispatcher::retryDelayMs(fast, 3, 0.5), 100);
}

void TstWebhookPolicy::secretForm_data()
{
    QTest::addColumn<QString>("secret");
    QTest::addColumn<int>("bytes"); // 0: refused
    QTest::newRow("spec vector") << QStringLiteral("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") << 24;
    QTest::newRow("32 bytes") << QStringLiteral("whsec_") + QString::fromLatin1(QByteArray(32, 'x').toBase64()) << 32;
    QTest::newRow("64 bytes") << QStringLiteral("whsec_") + QString::fromLatin1(QByteArray(64, 'x').toBase64()) << 64;
    QTest::newRow("65 bytes") << QStringLiteral("whsec_") + QString::fromLatin1(QByteArray(65, 'x').toBase64()) << 0;
    QTest::newRow("too short") << QStringLiteral("whsec_c2hvcnQ=") << 0;
    QTest::newRow("no prefix") << QStringLiteral("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") << 0;
    QTest::newRow("not base64") << QStringLiteral("whsec_not base64 at all, no no no!!") << 0;
    QTest::newRow("empty") << QString() << 0;
}

void TstWebhookPolicy::secretForm()
{
    QFETCH(QString, secret);
    QFETCH(int, bytes);
    const std::optional<QByteArray> key = policy::decodeSecret(secret);
    QCOMPARE(key ? int(key->size()) : 0, bytes);
}

void TstWebhookPolicy::forbiddenAddresses_data()
{
    QTest::addColumn<QString>("address");
    QTest::addColumn<bool>("forbidden");
    QTest::newRow("aws/gcp/azure metadata") << QStringLiteral("169.254.169.254") << true;
    QTest::newRow("link-local low") << QStringLiteral("169.254.0.1") << true;
    QTest::newRow("link-local high") << QStringLiteral("169.254.255.254") << true;
    QTest::newRow("alibaba metadata") << QStringLiteral("100.100.100.200") << true;
    QTest::newRow("aws v6 metadata") << QStringLiteral("fd00:ec2::254") << true;
    QTest::newRow("v6 link-local") << QStringLiteral("fe80::1") << true;
    QTest::newRow("v6 link-local top") << QStringLiteral("febf::1") << true;
    QTest::newRow("v4-mapped metadata") << QStringLiteral("::ffff:169.254.169.254") << true;
    QTest::newRow("any v4") << QStringLiteral("0.0.0.0") << true;
    QTest::newRow("v4-compatible metadata") << QStringLiteral("::169.254.169.254") << true;
    QTest::newRow("nat64 metadata") << QStringLiteral("64:ff9b::a9fe:a9fe") << true;
    QTest::newRow("v4-translated metadata") << QStringLiteral("::ffff:0:a9fe:a9fe") << true;
    QTest::newRow("nat64 public") << QStringLiteral("64:ff9b::5db8:d822") << false;
    QTest::newRow("v4-compatible 0.0.0.2") << QStringLiteral("::2") << false;
    QTest::newRow("any v6") << QStringLiteral("::") << true;
    QTest::newRow("loopback") << QStringLiteral("127.0.0.1") << false;
    QTest::newRow("v6 loopback") << QStringLiteral("::1") << false;
    QTest::newRow("private 10/8") << QStringLiteral("10.1.2.3") << false;
    QTest::newRow("private 192.168") << QStringLiteral("192.168.1.10") << false;
    QTest::newRow("next to link-local") << QStringLiteral("169.255.0.1") << false;
    QTest::newRow("cgnat neighbour") << QStringLiteral("100.100.100.201") << false;
    QTest::newRow("fec0 (not link-local)") << QStringLiteral("fec0::1") << false;
    QTest::newRow("public") << QStringLiteral("93.184.216.34") << false;
}

void TstWebhookPolicy::forbiddenAddresses()
{
    QFETCH(QString, address);
    QFETCH(bool, forbidden);
    const QHostAddress a(address);
    QVERIFY(!a.isNull());
    QCOMPARE(policy::isForbiddenAddress(a), forbidden);
}

void TstWebhookPolicy::resolvedHostsAndTheAllowList()
{
    const QList<QHostAddress> metadata{QHostAddress(QStringLiteral("10.0.0.5")),
                                       QHostAddress(QStringLiteral("169.254.169.254"))};
    // A name that resolves to a refused address (one of several is enough) is refused, and says so.
    const QString why = policy::addressProblem(QStringLiteral("hooks.example"), metadata, {});
    QVERIFY(why.contains(QStringLiteral("169.254.169.254")));
    QVERIFY(why.contains(QStringLiteral("hooks.example")));
    QVERIFY(policy::addressProblem(QStringLiteral("hooks.example"), {QHostAddress(QStringLiteral("10.0.0.5"))}, {})
                .isEmpty());
    // Allowed by name (case-insensitive), by address and by subnet; another entry does not help.
    QVERIFY(
        policy::addressProblem(QStringLiteral("hooks.example"), metadata, {QStringLiteral("HOOKS.example")}).isEmpty());
    QVERIFY(policy::addressProblem(QStringLiteral("hooks.example"), metadata, {QStringLiteral("169.254.169.254")})
                .isEmpty());
    QVERIFY(policy::addressProblem(QStringLiteral("hooks.example"), metadata, {QStringLiteral("169.254.0.0/16")})
                .isEmpty());
    QVERIFY(!policy::addressProblem(QStringLiteral("hooks.example"), metadata,
                                    {QStringLiteral("other.example"), QStringLiteral("fe80::/10")})
                 .isEmpty());
    QVERIFY(
        policy::allowHostsProblem({QStringLiteral("a.example"), QStringLiteral("10.0.0.0/8"), QStringLiteral("::1")})
            .isEmpty());
    QVERIFY(!policy::allowHostsProblem({QStringLiteral("10.0.0.0/99")}).isEmpty());
    QVERIFY(!policy::allowHostsProblem({QStringLiteral("no spaces allowed")}).isEmpty());
}

void TstWebhookPolicy::configSection_data()
{
    QTest::addColumn<QByteArray>("toml");
    QTest::addColumn<int>("line"); // of the error; 0: no error
    QTest::addColumn<QString>("message");
    const QByteArray secret = "secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n";
    QTest::newRow("valid") << "[webhooks]\n" + secret + "url = \"https://hooks.example/x\"\n" << 0 << QString();
    QTest::newRow("bad secret") << QByteArray("[webhooks]\n\nsecret = \"hunter2\"\n") << 3
                                << QStringLiteral("[webhooks] secret: expected \"whsec_\"");
    QTest::newRow("url without secret") << QByteArray("[webhooks]\nurl = \"http://127.0.0.1:9/\"\n") << 2
                                        << QStringLiteral("needs [webhooks] secret");
    QTest::newRow("metadata url") << "[webhooks]\n" + secret + "url = \"http://169.254.169.254/\"\n"
                                  << 3 << QStringLiteral("link-local or cloud metadata");
    QTest::newRow("allowed metadata url")
        << "[webhooks]\n" + secret + "url = \"http://169.254.169.254/\"\nallow_hosts = [\"169.254.169.254\"]\n"
        << 0 << QString();
    QTest::newRow("ftp url") << "[webhooks]\n" + secret + "url = \"ftp://x/\"\n"
                             << 3 << QStringLiteral("the scheme must be http or https");
    QTest::newRow("unknown event") << "[webhooks]\n" + secret + "events = [\"job_done\"]\n"
                                   << 3 << QStringLiteral("\"job_done\" is not one of");
    QTest::newRow("events not strings") << QByteArray("[webhooks]\nevents = [1]\n") << 2
                                        << QStringLiteral("every entry must be a non-empty string");
    QTest::newRow("bad allow_hosts") << QByteArray("[webhooks]\nallow_hosts = [\"1.2.3.4/77\"]\n") << 2
                                     << QStringLiteral("is not a subnet");
    QTest::newRow("max_attempts 0") << QByteArray("[webhooks]\nmax_attempts = 0\n") << 2
                                    << QStringLiteral("max_attempts");
    QTest::newRow("timeout too long") << QByteArray("[webhooks]\ntimeout = 601\n") << 2 << QStringLiteral("timeout");
    QTest::newRow("max below delay") << QByteArray("[webhooks]\nretry_delay = 60\nretry_max_delay = 30\n") << 1
                                     << QStringLiteral("retry_max_delay must not be below retry_delay");
}

void TstWebhookPolicy::configSection()
{
    QFETCH(QByteArray, toml);
    QFETCH(int, line);
    QFETCH(QString, message);
    const ConfigResult r = ConfigLoader::loadString(toml, QStringLiteral("hooks.toml"), QDir::tempPath());
    if (line == 0) {
        QVERIFY2(r.ok(), r.errors.isEmpty() ? "" : qPrintable(r.errors.first().toString()));
        return;
    }
    QCOMPARE(r.errors.size(), 1);
    QCOMPARE(r.errors.first().line, line);
    QVERIFY2(r.errors.first().toString().contains(message), qPrintable(r.errors.first().toString()));
    QVERIFY(r.errors.first().toString().startsWith(QStringLiteral("hooks.toml:")));
}

void TstWebhookPolicy::configValues()
{
    const ConfigResult defaults = ConfigLoader::loadString({}, QStringLiteral("d.toml"), QDir::tempPath());
    QVERIFY(defaults.ok());
    QCOMPARE(defaults.config->webhooks.maxAttempts, 8);
    QVERIFY(defaults.config->webhooks.url.isEmpty());
    // The printed defaults load back (--check-config's output is a valid file).
    const ConfigResult again
        = ConfigLoader::loadString(defaults.config->toToml().toUtf8(), QStringLiteral("p.toml"), QDir::tempPath());
    QVERIFY2(again.ok(), again.errors.isEmpty() ? "" : qPrintable(again.errors.first().toString()));
    QCOMPARE(again.config->webhooks.events, policy::defaultEvents());
    QCOMPARE(again.config->webhooks.retryMaxDelayMs, 12 * 3600 * 1000);
    const ConfigResult r = ConfigLoader::loadString("[webhooks]\nurl = \"https://hooks.example/x\"\n"
                                                    "secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n"
                                                    "events = [\"job_started\", \"job_failed\"]\nmax_attempts = 3\n"
                                                    "retry_delay = 0.05\nretry_max_delay = 2\ntimeout = 1.5\n"
                                                    "concurrency = 16\nallow_hosts = [\"10.0.0.0/8\"]\n",
                                                    QStringLiteral("w.toml"), QDir::tempPath());
    QVERIFY(r.ok());
    const WebhookSettings &w = r.config->webhooks;
    QCOMPARE(w.url, QUrl(QStringLiteral("https://hooks.example/x")));
    QCOMPARE(w.events, (QStringList{QStringLiteral("job_started"), QStringLiteral("job_failed")}));
    QCOMPARE(w.maxAttempts, 3);
    QCOMPARE(w.retryDelayMs, 50);
    QCOMPARE(w.retryMaxDelayMs, 2000);
    QCOMPARE(w.timeoutMs, 1500);
    QCOMPARE(w.concurrency, 16);
    QCOMPARE(w.allowHosts, QStringList{QStringLiteral("10.0.0.0/8")});
    // The effective configuration shows the section, the secret masked.
    const QString toml = r.config->toToml();
    QVERIFY(toml.contains(QStringLiteral("[webhooks]\nurl = \"https://hooks.example/x\"")));
    QVERIFY(toml.contains(QStringLiteral("secret = \"***\"")));
    QVERIFY(!toml.contains(QStringLiteral("MfKQ9r8")));
}

QTEST_GUILESS_MAIN(TstWebhookPolicy)
#include "tst_webhookpolicy.moc"
