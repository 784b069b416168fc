// [[backends]], [jobs] max_attempts and routing: what a valid file gives, and every refusal with the
// file:line that --check-config prints.

#include "core/config/commandline.h"
#include "core/config/configloader.h"
#include "core/config/effectiveconfig.h"

#include <QtTest>

using namespace cr;
using namespace Qt::StringLiterals;

class TstConfigBackends : public QObject
{
    Q_OBJECT

private slots:
    void validPool();
    void withoutBackendsThePoolIsComfy();
    void errors_data();
    void errors();
    void comfyUrlWithBackendsNamesBothLines();
    void backendsAreRestartOnly();
    void comfyUrlOptionWithBackendsIsRefused();
};

namespace {

ConfigResult load(const QByteArray &toml) { return ConfigLoader::loadString(toml, u"pool.toml"_s, QDir::tempPath()); }

QString errorsOf(const ConfigResult &r)
{
    QStringList out;
    for (const ConfigDiagnostic &d : r.errors)
        out << d.toString();
    return out.join(u'\n');
}

} // namespace

void TstConfigBackends::validPool()
{
    const ConfigResult r = load(R"(
[jobs]
max_attempts = 3
routing = "least_loaded"

[[backends]]
name = "gpu0"
url = "http://10.0.0.5:8188"
tags = ["sdxl", "fast"]

[[backends]]
name = "gpu-1.b"
url = "https://gpu1.example:8443"
max_in_flight = 4
)");
    QVERIFY2(r.ok(), qPrintable(errorsOf(r)));
    const Config &c = *r.config;
    QCOMPARE(c.jobs.maxAttempts, 3);
    QCOMPARE(int(c.jobs.routing), int(RoutingMode::LeastLoaded));
    QCOMPARE(c.backends.size(), 2);
    QCOMPARE(c.backends[0].name, u"gpu0"_s);
    QCOMPARE(c.backends[0].url, QUrl(u"http://10.0.0.5:8188"_s));
    QCOMPARE(c.backends[0].tags, (QStringList{u"sdxl"_s, u"fast"_s}));
    QCOMPARE(c.backends[0].maxInFlight, 2); // the default
    QCOMPARE(c.backends[1].maxInFlight, 4);
    QVERIFY(!c.isPoolOfOne());
    QCOMPARE(c.poolBackends(), c.backends);
    // The effective configuration shows the pool, and reads back the same.
    const QString toml = c.toToml();
    QVERIFY2(toml.contains(u"[[backends]]\nname = \"gpu-1.b\""_s), qPrintable(toml));
    const ConfigResult again = load(toml.toUtf8());
    QVERIFY2(again.ok(), qPrintable(errorsOf(again)));
    QCOMPARE(again.config->backends, c.backends);
    QCOMPARE(again.config->jobs.maxAttempts, 3);
}

void TstConfigBackends::withoutBackendsThePoolIsComfy()
{
    const ConfigResult r = load("[comfy]\nurl = \"http://127.0.0.1:9000\"\nname = \"solo\"\n");
    QVERIFY2(r.ok(), qPrintable(errorsOf(r)));
    QVERIFY(r.config->isPoolOfOne());
    const QList<BackendSettings> pool = r.config->poolBackends();
    QCOMPARE(pool.size(), 1);
    QCOMPARE(pool[0].name, u"solo"_s);
    QCOMPARE(pool[0].url, QUrl(u"http://127.0.0.1:9000"_s));
    QCOMPARE(pool[0].maxInFlight, 0); // no limit: every job goes to ComfyUI's queue, as before pools
    QCOMPARE(r.config->jobs.maxAttempts, 2);
    QCOMPARE(int(r.config->jobs.routing), int(RoutingMode::Affinity));
}

void TstConfigBackends::errors_data()
{
    QTest::addColumn<QByteArray>("toml");
    QTest::addColumn<QString>("expected"); // "pool.toml:LINE:" ... message part

    QTest::newRow("duplicate name")
        << QByteArray(
               "[[backends]]\nname = \"a\"\nurl = \"http://h:1\"\n[[backends]]\nname = \"a\"\nurl = \"http://h:2\"\n")
        << u"pool.toml:5:8: error: [backends #2] name: \"a\" is already the name of the backend at line 2"_s;
    QTest::newRow("bad name") << QByteArray("[[backends]]\nname = \"gpu 0\"\nurl = \"http://h:1\"\n")
                              << u"pool.toml:2:8: error: [backends #1] name: \"gpu 0\" must be"_s;
    QTest::newRow("empty name") << QByteArray("[[backends]]\nname = \"\"\nurl = \"http://h:1\"\n")
                                << u"pool.toml:2:8: error: [backends #1] name: \"\" must be"_s;
    QTest::newRow("missing name") << QByteArray("[[backends]]\nurl = \"http://h:1\"\n")
                                  << u"pool.toml:1:1: error: [backends #1]: \"name\" is required"_s;
    QTest::newRow("missing url") << QByteArray("[[backends]]\nname = \"a\"\n")
                                 << u"pool.toml:1:1: error: [backends #1]: \"url\" is required"_s;
    QTest::newRow("bad url")
        << QByteArray("[[backends]]\nname = \"a\"\nurl = \"ftp://h:1\"\n")
        << u"pool.toml:3:7: error: [backends #1] url: \"ftp://h:1\" is not a valid http/https URL"_s;
    QTest::newRow("url port 0") << QByteArray("[[backends]]\nname = \"a\"\nurl = \"http://h:0\"\n")
                                << u"pool.toml:3:7: error: [backends #1] url: port 0"_s;
    QTest::newRow("tags not strings")
        << QByteArray("[[backends]]\nname = \"a\"\nurl = \"http://h:1\"\ntags = [\"x\", 3]\n")
        << u"pool.toml:4:14: error: [backends #1] tags: every tag must be a non-empty string, got an integer"_s;
    QTest::newRow("tags not an array")
        << QByteArray("[[backends]]\nname = \"a\"\nurl = \"http://h:1\"\ntags = \"x\"\n")
        << u"pool.toml:4:8: error: [backends #1] tags: expected an array of strings, got a string"_s;
    QTest::newRow("max_in_flight 0") << QByteArray(
        "[[backends]]\nname = \"a\"\nurl = \"http://h:1\"\nmax_in_flight = 0\n")
                                     << u"pool.toml:4:17: error: [backends #1] max_in_flight"_s;
    QTest::newRow("max_in_flight 65") << QByteArray(
        "[[backends]]\nname = \"a\"\nurl = \"http://h:1\"\nmax_in_flight = 65\n")
                                      << u"pool.toml:4:17: error: [backends #1] max_in_flight"_s;
    QTest::newRow("backends not tables") << QByteArray("backends = [1, 2]\n")
                                         << u"pool.toml:1:12: error: backends: expected [[backends]] tables"_s;
    QTest::newRow("max_attempts 0") << QByteArray("[jobs]\nmax_attempts = 0\n")
                                    << u"pool.toml:2:16: error: [jobs] max_attempts"_s;
    QTest::newRow("max_attempts 11") << QByteArray("[jobs]\nmax_attempts = 11\n")
                                     << u"pool.toml:2:16: error: [jobs] max_attempts"_s;
    QTest::newRow("routing")
        << QByteArray("[jobs]\nrouting = \"random\"\n")
        << u"pool.toml:2:11: error: [jobs] routing: \"random\" is not one of affinity, least_loaded"_s;
}

void TstConfigBackends::errors()
{
    QFETCH(QByteArray, toml);
    QFETCH(QString, expected);
    const ConfigResult r = load(toml);
    QVERIFY(!r.ok());
    const QString all = errorsOf(r);
    QVERIFY2(all.contains(expected), qPrintable(u"expected \""_s + expected + u"\" in:\n"_s + all));
}

void TstConfigBackends::comfyUrlWithBackendsNamesBothLines()
{
    const ConfigResult r = load("[comfy]\nworkflow = \"sd15\"\nurl = \"http://127.0.0.1:8188\"\nport = 8188\n\n"
                                "[[backends]]\nname = \"a\"\nurl = \"http://h:1\"\n");
    QVERIFY(!r.ok());
    const QString all = errorsOf(r);
    QVERIFY2(
        all.contains(u"pool.toml:3:7: error: [comfy] url (line 3) cannot be combined with [[backends]] (line 6)"_s),
        qPrintable(all));
    QVERIFY2(
        all.contains(u"pool.toml:4:8: error: [comfy] port (line 4) cannot be combined with [[backends]] (line 6)"_s),
        qPrintable(all));
    // The shared keys of [comfy] stay legal with a pool.
    QVERIFY(load("[comfy]\nworkflow = \"x\"\nrequest_timeout = 5\n[[backends]]\nname = \"a\"\nurl = \"http://h:1\"\n")
                .ok());
}

void TstConfigBackends::backendsAreRestartOnly()
{
    Config running = *load("[[backends]]\nname = \"a\"\nurl = \"http://h:1\"\n").config;
    Config loaded = *load("[[backends]]\nname = \"a\"\nurl = \"http://h:1\"\n[[backends]]\nname = \"b\"\nurl = "
                          "\"http://h:2\"\n[jobs]\nmax_attempts = 5\n")
                         .config;
    const QStringList kept = keepRestartOnlyValues(loaded, running);
    QVERIFY2(kept.contains(u"backends"_s), qPrintable(kept.join(u", "_s)));
    QCOMPARE(loaded.backends, running.backends);
    QCOMPARE(loaded.jobs.maxAttempts, 5); // applied live
}

void TstConfigBackends::comfyUrlOptionWithBackendsIsRefused()
{
    const CommandLine cl = CommandLine::parse({u"comfy-runner"_s, u"--comfy-url"_s, u"http://127.0.0.1:9"_s});
    Config pool = *load("[[backends]]\nname = \"a\"\nurl = \"http://h:1\"\n").config;
    const QStringList problems = cl.applyTo(pool);
    QCOMPARE(problems.size(), 1);
    QVERIFY2(problems[0].contains(u"--comfy-url cannot be combined with [[backends]]"_s), qPrintable(problems[0]));
    Config solo = *load("").config;
    QVERIFY(cl.applyTo(solo).isEmpty());
    QCOMPARE(solo.comfy.url, QUrl(u"http://127.0.0.1:9"_s));
}

QTEST_GUILESS_MAIN(TstConfigBackends)
#include "tst_configbackends.moc"
