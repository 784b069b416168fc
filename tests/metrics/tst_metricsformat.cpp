// The metrics module without sockets: the text format 0.0.4 encoder (HELP/TYPE lines, escaped label
// values, numbers, cumulative histogram buckets ending with +Inf), HttpMetrics' bounded labels and the
// registry dropping the collectors of destroyed owners.

#include "core/metrics/httpmetrics.h"
#include "core/metrics/metricsregistry.h"
#include "core/metrics/metricswriter.h"
#include "core/metrics/processmetrics.h"

#include <QtTest>

#include <limits>

using namespace cr;

class TstMetricsFormat : public QObject
{
    Q_OBJECT

private slots:
    void familyAndSamples();
    void labelValuesAreEscaped();
    void numbers_data();
    void numbers();
    void histogramBucketsAreCumulative();
    void httpLabelsAreBounded();
    void registryDropsDeadCollectors();
    void processSample();
};

void TstMetricsFormat::familyAndSamples()
{
    MetricsWriter w;
    w.family("x_requests_total", MetricType::Counter, "Requests, with a \\ and a\nnewline.");
    w.value({{"route", "/a"}, {"status", "200"}}, 3);
    w.value({}, 1);
    w.single("x_up", MetricType::Gauge, "Up.", 1);
    QCOMPARE(w.text(),
             QByteArray("# HELP x_requests_total Requests, with a \\\\ and a\\nnewline.\n"
                        "# TYPE x_requests_total counter\n"
                        "x_requests_total{route=\"/a\",status=\"200\"} 3\n"
                        "x_requests_total 1\n"
                        "# HELP x_up Up.\n# TYPE x_up gauge\nx_up 1\n"));
}

void TstMetricsFormat::labelValuesAreEscaped()
{
    QCOMPARE(MetricsWriter::escapeLabelValue("a\"b\\c\nd"), QByteArray("a\\\"b\\\\c\\nd"));
    QCOMPARE(MetricsWriter::escapeLabelValue("wörk flow"), QByteArray("wörk flow")); // UTF-8 passes
    MetricsWriter w;
    w.family("x", MetricType::Gauge, "X.");
    w.value({{"workflow", "say \"hi\""}}, 2);
    QVERIFY(w.text().endsWith("x{workflow=\"say \\\"hi\\\"\"} 2\n"));
}

void TstMetricsFormat::numbers_data()
{
    QTest::addColumn<double>("value");
    QTest::addColumn<QByteArray>("text");
    QTest::newRow("zero") << 0.0 << QByteArray("0");
    QTest::newRow("integer") << 123456789.0 << QByteArray("123456789");
    QTest::newRow("negative") << -2.0 << QByteArray("-2");
    QTest::newRow("fraction") << 0.0025 << QByteArray("0.0025");
    QTest::newRow("small") << 2.9885e-05 << QByteArray("2.9885e-05");
    QTest::newRow("+Inf") << std::numeric_limits<double>::infinity() << QByteArray("+Inf");
    QTest::newRow("-Inf") << -std::numeric_limits<double>::infinity() << QByteArray("-Inf");
    QTest::newRow("NaN") << std::numeric_limits<double>::quiet_NaN() << QByteArray("NaN");
}

void TstMetricsFormat::numbers()
{
    QFETCH(double, value);
    QFETCH(QByteArray, text);
    QCOMPARE(MetricsWriter::formatNumber(value), text);
}

void TstMetricsFormat::histogramBucketsAreCumulative()
{
    static constexpr std::array<double, 3> bounds{0.1, 1, 10};
    Histogram h(bounds);
    for (double v : {0.05, 0.1, 0.5, 5.0, 50.0})
        h.observe(v);
    QCOMPARE(h.count(), quint64(5));
    QCOMPARE(h.sum(), 55.65);
    MetricsWriter w;
    w.family("x_seconds", MetricType::Histogram, "X.");
    w.histogram({{"workflow", "a"}}, h);
    // An observation equal to a bound is in that bucket (le = less or equal).
    QCOMPARE(w.text(),
             QByteArray("# HELP x_seconds X.\n# TYPE x_seconds histogram\n"
                        "x_seconds_bucket{workflow=\"a\",le=\"0.1\"} 2\n"
                        "x_seconds_bucket{workflow=\"a\",le=\"1\"} 3\n"
                        "x_seconds_bucket{workflow=\"a\",le=\"10\"} 4\n"
                        "x_seconds_bucket{workflow=\"a\",le=\"+Inf\"} 5\n"
                        "x_seconds_sum{workflow=\"a\"} 55.65\n"
                        "x_seconds_count{workflow=\"a\"} 5\n"));
}

void TstMetricsFormat::httpLabelsAreBounded()
{
    HttpMetrics m({"/a", "/b/{id}", "/a"}); // duplicates (one pattern, two methods) are one route
    QCOMPARE(m.routeIndex("/a"), 0);
    QCOMPARE(m.routeIndex("/b/{id}"), 1);
    QCOMPARE(m.otherRoute(), 2);
    QCOMPARE(m.routeIndex("/b/42"), m.otherRoute());                               // a raw path is never a label
    QCOMPARE(HttpMetrics::methodIndex("BREW"), HttpMetrics::methodIndex("TRACE")); // both "other"
    m.record(1, HttpMetrics::methodIndex("GET"), 200, 0.002);
    m.record(1, HttpMetrics::methodIndex("GET"), 200, 0.003);
    m.record(1, HttpMetrics::methodIndex("GET"), 404, 0.001);
    m.record(m.otherRoute(), HttpMetrics::methodIndex("BREW"), 404, 0.001);
    m.record(99, 99, 500, 0.001); // out-of-range indexes count as "other"
    MetricsWriter w;
    m.write(w);
    const QByteArray t = w.text();
    QVERIFY(t.contains("comfyrunner_http_requests_total{route=\"/b/{id}\",method=\"GET\",status=\"200\"} 2\n"));
    QVERIFY(t.contains("comfyrunner_http_requests_total{route=\"/b/{id}\",method=\"GET\",status=\"404\"} 1\n"));
    QVERIFY(t.contains("comfyrunner_http_requests_total{route=\"other\",method=\"other\",status=\"404\"} 1\n"));
    QVERIFY(t.contains("comfyrunner_http_requests_total{route=\"other\",method=\"other\",status=\"500\"} 1\n"));
    QVERIFY(t.contains("comfyrunner_http_request_duration_seconds_count{route=\"/b/{id}\",method=\"GET\"} 3\n"));
    QVERIFY(t.contains(
        "comfyrunner_http_request_duration_seconds_bucket{route=\"/b/{id}\",method=\"GET\",le=\"0.0025\"} 2\n"));
    QVERIFY(!t.contains("route=\"/a\"")); // nothing recorded there: no series
}

void TstMetricsFormat::registryDropsDeadCollectors()
{
    MetricsRegistry registry;
    auto owner = std::make_unique<QObject>();
    QObject keeper;
    registry.add(owner.get(), [](MetricsWriter &w) { w.single("a", MetricType::Gauge, "A.", 1); });
    registry.add(&keeper, [](MetricsWriter &w) { w.single("b", MetricType::Gauge, "B.", 2); });
    QCOMPARE(registry.scrape(), QByteArray("# HELP a A.\n# TYPE a gauge\na 1\n# HELP b B.\n# TYPE b gauge\nb 2\n"));
    owner.reset();
    QCOMPARE(registry.scrape(), QByteArray("# HELP b B.\n# TYPE b gauge\nb 2\n"));
}

void TstMetricsFormat::processSample()
{
    const auto s = sampleProcess();
    QVERIFY(s);
    QVERIFY(s->residentBytes > 1024 * 1024);
    QVERIFY(s->virtualBytes >= s->residentBytes);
    // The count follows what this process opens.
    QFile f(QStringLiteral(CR_SOURCE_DIR "/README.md"));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const auto opened = sampleProcess();
    QCOMPARE(opened->openFds, s->openFds + 1);
    QVERIFY(opened->maxFds >= opened->openFds);
    const double now = double(QDateTime::currentSecsSinceEpoch());
    QVERIFY2(s->startTimeSeconds > now - 3600 && s->startTimeSeconds <= now + 1,
             qPrintable(QString::number(s->startTimeSeconds)));
}

QTEST_GUILESS_MAIN(TstMetricsFormat)
#include "tst_metricsformat.moc"
