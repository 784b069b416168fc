// GET /metrics of the whole service (Service against the fake ComfyUI, every listener on port 0): after a
// job, a relay client, an SSE stream, a 404 and a 401 the scrape holds those values, passes
// `promtool check metrics`, and names every metric the Grafana dashboard queries. Auth as the API unless
// [metrics] public = true; [metrics] enabled = false answers 404.

#include "core/metrics/metricsregistry.h"
#include "tests/api/apitestenv.h"
#include "tests/api/sseclient.h"
#include "tests/metrics/scrape.h"

#include <QJsonArray>
#include <QRegularExpression>
#include <QWebSocket>
#include <QtTest>

using namespace cr;
using namespace cr::testing;

namespace {

const QByteArray kToken = "s3cret";

Scrape scrape(ApiTestEnv &env, const QByteArray &token = kToken)
{
    const HttpResult r = env.call("GET", QStringLiteral("/metrics"), {}, {}, token);
    if (r.status != 200)
        qWarning() << "GET /metrics:" << r.status << r.body;
    return Scrape(r.status == 200 ? r.body : QByteArray());
}

// The PromQL of the dashboard's panels ("expr") and variables ("query" strings).
QStringList dashboardQueries()
{
    QFile f(QStringLiteral(CR_SOURCE_DIR "/packaging/grafana/comfy-runner-dashboard.json"));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QStringList queries;
    std::function<void(const QJsonValue &)> walk = [&](const QJsonValue &v) {
        if (v.isObject()) {
            const QJsonObject o = v.toObject();
            for (auto it = o.begin(); it != o.end(); ++it) {
                if ((it.key() == QLatin1String("expr") || it.key() == QLatin1String("query")) && it.value().isString())
                    queries.append(it.value().toString());
                else
                    walk(it.value());
            }
        } else if (v.isArray()) {
            for (const QJsonValue &e : v.toArray())
                walk(e);
        }
    };
    walk(QJsonDocument::fromJson(f.readAll()).object());
    return queries;
}

// Metric names the queries use (comfyrunner_* and process_*).
QSet<QByteArray> metricNames(const QStringList &queries)
{
    static const QRegularExpression kName(QStringLiteral("\\b((?:comfyrunner|process)_[a-z_]+)\\b"));
    QSet<QByteArray> names;
    for (const QString &q : queries) {
        auto m = kName.globalMatch(q);
        while (m.hasNext())
            names.insert(m.next().captured(1).toUtf8());
    }
    return names;
}

} // namespace

class TstMetrics : public QObject
{
    Q_OBJECT

private slots:
    void scrapeAfterTraffic();
    void countersSurviveClientsLeaving();
    void needsTheTokenUnlessPublic();
    void disabledIsNotFound();
    void dashboardNamesAreExported();
};

void TstMetrics::scrapeAfterTraffic()
{
    ApiTestEnv env(QString::fromLatin1(kToken));
    QVERIFY(env.ok());
    QWebSocket ws;
    int frames = 0;
    connect(&ws, &QWebSocket::textMessageReceived, &ws, [&frames] { ++frames; });
    QSignalSpy connected(&ws, &QWebSocket::connected);
    ws.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/?token=%2").arg(env.relayPort()).arg(QString::fromLatin1(kToken))));
    QVERIFY(connected.wait(5000));
    SseClient sse;
    sse.open(env.port(), "/api/v1/events?token=" + kToken);
    QVERIFY(sse.waitHead());
    QCOMPARE(sse.status(), 200);

    const HttpResult job = env.call("POST", QStringLiteral("/api/v1/jobs"), R"({"workflow": "sd15", "wait": true})",
                                    "application/json", kToken);
    QCOMPARE(job.status, 200);
    QCOMPARE(job.json().value(QStringLiteral("state")).toString(), QStringLiteral("succeeded"));
    QTRY_VERIFY_WITH_TIMEOUT(frames > 0, 5000);
    QCOMPARE(env.call("GET", QStringLiteral("/api/v1/nowhere"), {}, {}, kToken).status, 404);
    QCOMPARE(env.call("GET", QStringLiteral("/api/v1/jobs/not-a-job"), {}, {}, kToken).status, 404);
    QCOMPARE(env.call("GET", QStringLiteral("/api/v1/jobs")).status, 401);

    const HttpResult r = env.call("GET", QStringLiteral("/metrics"), {}, {}, kToken);
    QCOMPARE(r.status, 200);
    QCOMPARE(r.header("Content-Type"), QByteArray(MetricsRegistry::kContentType));
    const Scrape s(r.body);
    QVERIFY(s.parsed());
    // Jobs by state and workflow, with one observation in each histogram.
    for (const char *state : {"queued", "running", "succeeded"})
        QCOMPARE(s.value("comfyrunner_jobs_total", {{"workflow", "sd15"}, {"state", state}}), 1.0);
    QCOMPARE(s.value("comfyrunner_jobs_total", {{"workflow", "sd15"}, {"state", "failed"}}), 0.0);
    QCOMPARE(s.value("comfyrunner_jobs_total", {{"workflow", "other"}, {"state", "queued"}}), 0.0);
    QVERIFY(!s.has("comfyrunner_jobs_total", {{"workflow", "broken"}, {"state", "queued"}})); // not loaded
    QCOMPARE(s.value("comfyrunner_job_duration_seconds_count", {{"workflow", "sd15"}}), 1.0);
    QCOMPARE(s.value("comfyrunner_job_duration_seconds_bucket", {{"workflow", "sd15"}, {"le", "+Inf"}}), 1.0);
    QVERIFY(s.value("comfyrunner_job_duration_seconds_sum", {{"workflow", "sd15"}}) >= 0);
    QCOMPARE(s.value("comfyrunner_job_queue_wait_seconds_count", {{"workflow", "sd15"}}), 1.0);
    // The backend.
    QCOMPARE(s.value("comfyrunner_comfyui_connected", {{"backend", "default"}}), 1.0);
    QCOMPARE(s.value("comfyrunner_comfyui_reconnects_total", {{"backend", "default"}}), 0.0);
    QCOMPARE(s.value("comfyrunner_backend_jobs_running", {{"backend", "default"}}), 0.0);
    QCOMPARE(s.value("comfyrunner_backend_jobs_queued", {{"backend", "default"}}), 0.0);
    // Relay and SSE.
    QCOMPARE(s.value("comfyrunner_relay_clients"), 1.0);
    QVERIFY(s.value("comfyrunner_relay_frames_total", {{"kind", "json"}}) >= frames);
    QVERIFY(s.value("comfyrunner_relay_sent_bytes_total") > 0);
    QCOMPARE(s.value("comfyrunner_relay_clients_closed_total", {{"reason", "too_slow"}}), 0.0);
    QCOMPARE(s.value("comfyrunner_relay_previews_dropped_total", {{"reason", "backlog"}}), 0.0);
    QCOMPARE(s.value("comfyrunner_sse_streams"), 1.0);
    QCOMPARE(s.value("comfyrunner_sse_streams_opened_total"), 1.0);
    // HTTP: route patterns, never raw paths; unknown paths are "other".
    QCOMPARE(
        s.value("comfyrunner_http_requests_total", {{"route", "/api/v1/jobs"}, {"method", "POST"}, {"status", "200"}}),
        1.0);
    QCOMPARE(s.value("comfyrunner_http_requests_total",
                     {{"route", "/api/v1/jobs/{id}"}, {"method", "GET"}, {"status", "404"}}),
             1.0);
    QCOMPARE(s.value("comfyrunner_http_requests_total", {{"route", "other"}, {"method", "GET"}, {"status", "404"}}),
             1.0);
    QCOMPARE(
        s.value("comfyrunner_http_requests_total", {{"route", "/api/v1/jobs"}, {"method", "GET"}, {"status", "401"}}),
        1.0);
    QCOMPARE(
        s.value("comfyrunner_http_requests_total", {{"route", "/api/v1/events"}, {"method", "GET"}, {"status", "200"}}),
        1.0);
    QVERIFY(!s.text().contains("not-a-job"));
    QCOMPARE(
        s.value("comfyrunner_http_request_duration_seconds_count", {{"route", "/api/v1/jobs"}, {"method", "POST"}}),
        1.0);
    QVERIFY(s.value("comfyrunner_http_request_duration_seconds_sum", {{"route", "/api/v1/jobs"}, {"method", "POST"}})
            > 0);
    // The process.
    QVERIFY(s.value("process_resident_memory_bytes") > 1024 * 1024);
    QVERIFY(s.value("process_open_fds") > 3);
    QVERIFY(s.value("process_start_time_seconds") > 1.6e9);
    // The next scrape counts this one.
    QCOMPARE(scrape(env).value("comfyrunner_http_requests_total",
                               {{"route", "/metrics"}, {"method", "GET"}, {"status", "200"}}),
             1.0);

    const QString problems = promtoolProblems(r.body);
    if (problems == QLatin1String("missing"))
        QSKIP("promtool is not on PATH (scripts/test.sh puts it there: cr_ensure_promtool in scripts/deps.sh)");
    QVERIFY2(problems.isEmpty(), qPrintable(problems));
}

void TstMetrics::countersSurviveClientsLeaving()
{
    ApiTestEnv env(QString::fromLatin1(kToken));
    QVERIFY(env.ok());
    auto ws = std::make_unique<QWebSocket>();
    int frames = 0;
    connect(ws.get(), &QWebSocket::textMessageReceived, ws.get(), [&frames] { ++frames; });
    QSignalSpy connected(ws.get(), &QWebSocket::connected);
    ws->open(QUrl(QStringLiteral("ws://127.0.0.1:%1/?token=%2").arg(env.relayPort()).arg(QString::fromLatin1(kToken))));
    QVERIFY(connected.wait(5000));
    QCOMPARE(env.call("POST", QStringLiteral("/api/v1/jobs"), R"({"workflow": "sd15", "wait": true})",
                      "application/json", kToken)
                 .status,
             200);
    QTRY_VERIFY_WITH_TIMEOUT(frames > 0, 5000);
    const Scrape before = scrape(env);
    const double sent = before.value("comfyrunner_relay_frames_total", {{"kind", "json"}});
    const double bytes = before.value("comfyrunner_relay_sent_bytes_total");
    QVERIFY(sent > 0);
    ws.reset(); // the client leaves
    QTRY_COMPARE_WITH_TIMEOUT(scrape(env).value("comfyrunner_relay_clients"), 0.0, 5000);
    const Scrape after = scrape(env);
    // A counter never goes down (a late event of the job may still have been sent before the client left).
    QVERIFY(after.value("comfyrunner_relay_frames_total", {{"kind", "json"}}) >= sent);
    QVERIFY(after.value("comfyrunner_relay_sent_bytes_total") >= bytes);
}

void TstMetrics::needsTheTokenUnlessPublic()
{
    {
        ApiTestEnv env(QString::fromLatin1(kToken));
        QVERIFY(env.ok());
        const HttpResult r = env.call("GET", QStringLiteral("/metrics"));
        QCOMPARE(r.status, 401);
        QCOMPARE(r.errorCode(), QStringLiteral("unauthorized"));
        QCOMPARE(r.header("WWW-Authenticate"), QByteArray("Bearer"));
        QCOMPARE(env.call("GET", QStringLiteral("/metrics"), {}, {}, "wrong").status, 401);
        const HttpResult post = env.call("POST", QStringLiteral("/metrics"), "{}", "application/json", kToken);
        QCOMPARE(post.status, 405);
        QCOMPARE(post.errorCode(), QStringLiteral("method_not_allowed"));
        QCOMPARE(post.header("Allow"), QByteArray("GET, HEAD"));
    }
    ApiTestEnv env(QString::fromLatin1(kToken), [](Config &c) { c.metrics.publicAccess = true; });
    QVERIFY(env.ok());
    const HttpResult r = env.call("GET", QStringLiteral("/metrics"));
    QCOMPARE(r.status, 200);
    QVERIFY(Scrape(r.body).has("comfyrunner_relay_clients"));
    QCOMPARE(env.call("GET", QStringLiteral("/api/v1/jobs")).status, 401); // only /metrics is public
}

void TstMetrics::disabledIsNotFound()
{
    ApiTestEnv env(QString::fromLatin1(kToken), [](Config &c) { c.metrics.enabled = false; });
    QVERIFY(env.ok());
    const HttpResult r = env.call("GET", QStringLiteral("/metrics"), {}, {}, kToken);
    QCOMPARE(r.status, 404);
    QCOMPARE(r.errorCode(), QStringLiteral("not_found"));
    QCOMPARE(env.call("GET", QStringLiteral("/api/v1/health")).status, 200); // the rest is unchanged
}

void TstMetrics::dashboardNamesAreExported()
{
    ApiTestEnv env(QString::fromLatin1(kToken));
    QVERIFY(env.ok());
    QCOMPARE(env.call("POST", QStringLiteral("/api/v1/jobs"), R"({"workflow": "sd15", "wait": true})",
                      "application/json", kToken)
                 .status,
             200);
    const Scrape s = scrape(env);
    const QStringList queries = dashboardQueries();
    const QSet<QByteArray> names = metricNames(queries);
    QVERIFY2(names.size() >= 10, "the dashboard's queries name too few metrics");
    for (const QByteArray &name : names) {
        QByteArray family = name;
        for (const char *suffix : {"_bucket", "_sum", "_count"})
            if (name.endsWith(suffix) && s.typeOf(name.chopped(qstrlen(suffix))) == "histogram")
                family = name.chopped(qstrlen(suffix));
        QVERIFY2(!s.typeOf(family).isEmpty(), name.constData());
    }
    // The panels' PromQL parses (Grafana's variables replaced as Grafana would); label_values() is Grafana's.
    QStringList promql;
    for (QString q : queries) {
        if (q.startsWith(QLatin1String("label_values(")))
            continue;
        promql.append(q.replace(QLatin1String("$__rate_interval"), QLatin1String("1m"))
                          .replace(QLatin1String("$instance"), QLatin1String(".*")));
    }
    QVERIFY(promql.size() >= 10);
    const QString problems = promqlProblems(promql);
    if (problems == QLatin1String("missing"))
        QSKIP("promtool is not on PATH (scripts/test.sh puts it there: cr_ensure_promtool in scripts/deps.sh)");
    QVERIFY2(problems.isEmpty(), qPrintable(problems));
}

QTEST_MAIN(TstMetrics)
#include "tst_metrics.moc"
