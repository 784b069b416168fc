// Socket-free parts of the API: route matching, the error-code -> HTTP status table, the multipart reader,
// and the OpenAPI document compiled into cr_api against the route table.

#include "core/api/apierrors.h"
#include "core/api/apijson.h"
#include "core/api/byterange.h"
#include "core/api/multipart.h"
#include "core/api/routetable.h"
#include "core/api/uploadnames.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>
#include <QtTest>

using namespace cr;

class TstApiUnits : public QObject
{
    Q_OBJECT

private slots:
    void byteRanges_data();
    void byteRanges();
    void jobBodyCacheServesFinishedJobs();
    void matchRoute_data();
    void matchRoute();
    void statusTable_data();
    void statusTable();
    void errorBodyShape();
    void multipart_data();
    void multipart();
    void openApiMatchesRouteTable();
    void uploadRefusalIsClientError_data();
    void uploadRefusalIsClientError();
};

void TstApiUnits::matchRoute_data()
{
    QTest::addColumn<QString>("pattern");
    QTest::addColumn<QString>("path");
    QTest::addColumn<bool>("matches");
    QTest::addColumn<QStringList>("args");
    QTest::newRow("plain") << "/api/v1/jobs"
                           << "/api/v1/jobs" << true << QStringList();
    QTest::newRow("arg") << "/api/v1/jobs/{id}"
                         << "/api/v1/jobs/abc" << true << QStringList{"abc"};
    QTest::newRow("two args") << "/api/v1/jobs/{id}/outputs/{index}"
                              << "/api/v1/jobs/a/outputs/3" << true << QStringList{"a", "3"};
    QTest::newRow("empty arg") << "/api/v1/jobs/{id}"
                               << "/api/v1/jobs/" << false << QStringList();
    QTest::newRow("longer") << "/api/v1/jobs/{id}"
                            << "/api/v1/jobs/a/b" << false << QStringList();
    QTest::newRow("prefix") << "/api/v1/jobs"
                            << "/api/v1/jobsx" << false << QStringList();
    QTest::newRow("case") << "/health"
                          << "/HEALTH" << false << QStringList();
}

void TstApiUnits::matchRoute()
{
    QFETCH(QString, pattern);
    QFETCH(QString, path);
    QFETCH(bool, matches);
    QFETCH(QStringList, args);
    QStringList got;
    QCOMPARE(cr::matchRoute(pattern, path, &got), matches);
    if (matches)
        QCOMPARE(got, args);
}

void TstApiUnits::byteRanges_data()
{
    QTest::addColumn<QByteArray>("header");
    QTest::addColumn<qint64>("size");
    QTest::addColumn<int>("kind"); // 0 whole, 1 partial, 2 unsatisfiable
    QTest::addColumn<qint64>("first");
    QTest::addColumn<qint64>("last");
    QTest::newRow("none") << QByteArray() << qint64(100) << 0 << qint64(0) << qint64(0);
    QTest::newRow("first-last") << QByteArray("bytes=10-19") << qint64(100) << 1 << qint64(10) << qint64(19);
    QTest::newRow("spaces, case") << QByteArray(" Bytes=10 - 19 ") << qint64(100) << 1 << qint64(10) << qint64(19);
    QTest::newRow("open") << QByteArray("bytes=90-") << qint64(100) << 1 << qint64(90) << qint64(99);
    QTest::newRow("last clipped") << QByteArray("bytes=90-500") << qint64(100) << 1 << qint64(90) << qint64(99);
    QTest::newRow("suffix") << QByteArray("bytes=-5") << qint64(100) << 1 << qint64(95) << qint64(99);
    QTest::newRow("suffix longer than file") << QByteArray("bytes=-500") << qint64(100) << 1 << qint64(0) << qint64(99);
    QTest::newRow("one byte") << QByteArray("bytes=0-0") << qint64(1) << 1 << qint64(0) << qint64(0);
    QTest::newRow("past end") << QByteArray("bytes=100-") << qint64(100) << 2 << qint64(0) << qint64(0);
    QTest::newRow("suffix of empty") << QByteArray("bytes=-1") << qint64(0) << 2 << qint64(0) << qint64(0);
    QTest::newRow("suffix zero") << QByteArray("bytes=-0") << qint64(100) << 2 << qint64(0) << qint64(0);
    // Ignored (the whole file): not one well-formed byte range.
    QTest::newRow("several") << QByteArray("bytes=0-1,5-6") << qint64(100) << 0 << qint64(0) << qint64(0);
    QTest::newRow("other unit") << QByteArray("items=0-1") << qint64(100) << 0 << qint64(0) << qint64(0);
    QTest::newRow("reversed") << QByteArray("bytes=20-10") << qint64(100) << 0 << qint64(0) << qint64(0);
    QTest::newRow("garbage") << QByteArray("bytes=a-b") << qint64(100) << 0 << qint64(0) << qint64(0);
    QTest::newRow("signed") << QByteArray("bytes=+1-2") << qint64(100) << 0 << qint64(0) << qint64(0);
    QTest::newRow("no dash") << QByteArray("bytes=5") << qint64(100) << 0 << qint64(0) << qint64(0);
    QTest::newRow("huge") << QByteArray("bytes=99999999999999999999-") << qint64(100) << 0 << qint64(0) << qint64(0);
}

void TstApiUnits::byteRanges()
{
    QFETCH(QByteArray, header);
    QFETCH(qint64, size);
    QFETCH(int, kind);
    QFETCH(qint64, first);
    QFETCH(qint64, last);
    const RangeResolution r = resolveRange(parseRangeHeader(header), size);
    QCOMPARE(int(r.kind), kind);
    if (kind == 1) {
        QCOMPARE(r.range.first, first);
        QCOMPARE(r.range.last, last);
        QCOMPARE(r.range.contentRange(size),
                 "bytes " + QByteArray::number(first) + '-' + QByteArray::number(last) + '/'
                     + QByteArray::number(size));
    }
    QCOMPARE(unsatisfiedRange(size), "bytes */" + QByteArray::number(size));
}

void TstApiUnits::statusTable_data()
{
    QTest::addColumn<QString>("code");
    QTest::addColumn<int>("status");
    const QList<QPair<const char *, int>> rows = {{ErrorCode::InvalidJson, 400},
                                                  {ErrorCode::MissingField, 400},
                                                  {ErrorCode::InvalidField, 400},
                                                  {ErrorCode::InvalidRequest, 400},
                                                  {ErrorCode::TypeMismatch, 400},
                                                  {ErrorCode::UnknownInput, 400},
                                                  {ErrorCode::LinkedInput, 400},
                                                  {ErrorCode::Unauthorized, 401},
                                                  {ErrorCode::NotFound, 404},
                                                  {ErrorCode::UnknownWorkflow, 404},
                                                  {ErrorCode::UnknownNode, 404},
                                                  {ErrorCode::JobNotFound, 404},
                                                  {ErrorCode::OutputNotFound, 404},
                                                  {ErrorCode::MethodNotAllowed, 405},
                                                  {ErrorCode::RequestTimeout, 408},
                                                  {ErrorCode::JobConflict, 409},
                                                  {ErrorCode::LengthRequired, 411},
                                                  {ErrorCode::PayloadTooLarge, 413},
                                                  {ErrorCode::RangeNotSatisfiable, 416},
                                                  {ErrorCode::HeadersTooLarge, 431},
                                                  {ErrorCode::TooManyStreams, 503},
                                                  {ErrorCode::HttpVersionNotSupported, 505},
                                                  {ErrorCode::ComfyValidation, 422},
                                                  {ErrorCode::WebhookUrlForbidden, 422},
                                                  {ErrorCode::WebhooksNotConfigured, 422},
                                                  {ErrorCode::DeliveryNotFound, 404},
                                                  {ErrorCode::ComfyUnreachable, 502},
                                                  {ErrorCode::UpstreamUnreachable, 502},
                                                  {ErrorCode::UpstreamError, 502},
                                                  {ErrorCode::ComfyTimeout, 504},
                                                  {ErrorCode::WaitTimeout, 504},
                                                  {ErrorCode::NotReady, 503},
                                                  {ErrorCode::Internal, 500},
                                                  {"something_new", 500}};
    for (const auto &[code, status] : rows)
        QTest::newRow(code) << QString::fromLatin1(code) << status;
}

void TstApiUnits::statusTable()
{
    QFETCH(QString, code);
    QFETCH(int, status);
    QCOMPARE(httpStatusFor(code), status);
}

void TstApiUnits::errorBodyShape()
{
    const Error e = Error::make(ErrorCode::ComfyValidation, QStringLiteral("bad"),
                                {{QStringLiteral("node_errors"), QJsonObject{{QStringLiteral("4"), 1}}}});
    const QJsonObject o = QJsonDocument::fromJson(errorBody(e)).object().value(QStringLiteral("error")).toObject();
    QCOMPARE(o.value(QStringLiteral("code")).toString(), QStringLiteral("comfy_validation"));
    QCOMPARE(o.value(QStringLiteral("message")).toString(), QStringLiteral("bad"));
    QCOMPARE(o.value(QStringLiteral("details"))
                 .toObject()
                 .value(QStringLiteral("node_errors"))
                 .toObject()
                 .value(QStringLiteral("4"))
                 .toInt(),
             1);
    const QByteArray raw = rawErrorResponse(413, e);
    QVERIFY(raw.startsWith("HTTP/1.1 413 Payload Too Large\r\n"));
    QVERIFY(raw.contains("Content-Length: " + QByteArray::number(errorBody(e).size()) + "\r\n"));
}

void TstApiUnits::multipart_data()
{
    QTest::addColumn<QByteArray>("contentType");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<int>("parts"); // -1 = error
    const QByteArray ok = "--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: "
                          "image/png\r\n\r\n\x89PNG\r\n--b\r\n"
                          "Content-Disposition: form-data; name=\"subfolder\"\r\n\r\nsub\r\n--b--\r\n";
    QTest::newRow("two parts") << QByteArray("multipart/form-data; boundary=b") << ok << 2;
    QTest::newRow("quoted boundary") << QByteArray("multipart/form-data; boundary=\"b\"") << ok << 2;
    QTest::newRow("not multipart") << QByteArray("application/json") << ok << -1;
    QTest::newRow("no boundary") << QByteArray("multipart/form-data") << ok << -1;
    QTest::newRow("unterminated") << QByteArray("multipart/form-data; boundary=b")
                                  << QByteArray("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nabc") << -1;
    QTest::newRow("no header end") << QByteArray("multipart/form-data; boundary=b")
                                   << QByteArray("--b\r\nContent-Disposition: x") << -1;
    QTest::newRow("empty") << QByteArray("multipart/form-data; boundary=b") << QByteArray() << -1;
    QByteArray many;
    for (int i = 0; i < 20; ++i)
        many += "--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx\r\n";
    many += "--b--\r\n";
    QTest::newRow("too many parts") << QByteArray("multipart/form-data; boundary=b") << many << -1;
}

void TstApiUnits::multipart()
{
    QFETCH(QByteArray, contentType);
    QFETCH(QByteArray, body);
    QFETCH(int, parts);
    const auto r = parseMultipart(contentType, body);
    QCOMPARE(r.ok(), parts >= 0);
    if (parts < 0) {
        QCOMPARE(r.error().code, QStringLiteral("invalid_request"));
        return;
    }
    QCOMPARE(r->size(), parts);
    QCOMPARE(r->at(0).name, QStringLiteral("image"));
    QCOMPARE(r->at(0).fileName, QStringLiteral("a.png"));
    QCOMPARE(r->at(0).contentType, QByteArray("image/png"));
    QCOMPARE(r->at(0).data, QByteArray("\x89PNG"));
    QCOMPARE(r->at(1).data, QByteArray("sub"));
}

void TstApiUnits::openApiMatchesRouteTable()
{
    QFile f(QStringLiteral(":/comfyrunner/api/openapi.json"));
    QVERIFY(f.open(QIODevice::ReadOnly));
    QJsonParseError pe{};
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &pe);
    QCOMPARE(pe.error, QJsonParseError::NoError);
    QSet<QString> documented, routed;
    const QJsonObject paths = doc.object().value(QStringLiteral("paths")).toObject();
    for (auto it = paths.begin(); it != paths.end(); ++it)
        for (const QString &m : it.value().toObject().keys())
            documented.insert(m.toUpper() + QLatin1Char(' ') + it.key());
    for (const RouteSpec &s : routeTable())
        routed.insert(QLatin1String(s.method) + QLatin1Char(' ') + QLatin1String(s.path));
    QCOMPARE(documented, routed);
    QCOMPARE(routed.size(), routeTable().size()); // no duplicate rows
}

void TstApiUnits::uploadRefusalIsClientError_data()
{
    QTest::addColumn<QString>("code");
    QTest::addColumn<int>("comfyStatus");
    QTest::addColumn<QString>("answered");
    QTest::addColumn<int>("httpStatus");
    QTest::newRow("400") << QString::fromLatin1(ErrorCode::ComfyError) << 400
                         << QString::fromLatin1(ErrorCode::ComfyValidation) << 422;
    QTest::newRow("403") << QString::fromLatin1(ErrorCode::ComfyError) << 403
                         << QString::fromLatin1(ErrorCode::ComfyValidation) << 422;
    QTest::newRow("413") << QString::fromLatin1(ErrorCode::ComfyError) << 413
                         << QString::fromLatin1(ErrorCode::ComfyValidation) << 422;
    QTest::newRow("500 stays") << QString::fromLatin1(ErrorCode::ComfyError) << 500
                               << QString::fromLatin1(ErrorCode::ComfyError) << 502;
    QTest::newRow("unreachable stays") << QString::fromLatin1(ErrorCode::ComfyUnreachable) << 0
                                       << QString::fromLatin1(ErrorCode::ComfyUnreachable) << 502;
}

// ComfyUI refusing an upload with a 4xx is the client's problem (422), not a bad gateway (502).
void TstApiUnits::uploadRefusalIsClientError()
{
    QFETCH(QString, code);
    QFETCH(int, comfyStatus);
    QFETCH(QString, answered);
    QFETCH(int, httpStatus);
    const Error comfy{
        code, QStringLiteral("ComfyUI answered"),
        QJsonObject{{QStringLiteral("status"), comfyStatus}, {QStringLiteral("body"), QStringLiteral("no")}}};
    const Error e = uploadError(comfy);
    QCOMPARE(e.code, answered);
    QCOMPARE(httpStatusFor(e.code), httpStatus);
    if (answered != code) {
        QCOMPARE(e.details.value(QStringLiteral("comfy_status")).toInt(), comfyStatus);
        QCOMPARE(e.details.value(QStringLiteral("body")).toString(), QStringLiteral("no"));
    }
}

void TstApiUnits::jobBodyCacheServesFinishedJobs()
{
    const auto compact = [](const Job &j) { return QJsonDocument(jobToJson(j)).toJson(QJsonDocument::Compact); };
    JobBodyCache cache;
    Job job;
    job.id = QStringLiteral("j1");
    job.createdAt = QDateTime::currentDateTimeUtc();
    job.state = JobState::Running;
    job.startedAt = job.createdAt;
    // A running job is encoded afresh every time (its duration so far moves with the clock, so compare the
    // JSON without it).
    const auto withoutDuration = [](const QByteArray &body) {
        QJsonObject o = QJsonDocument::fromJson(body).object();
        o.remove(QStringLiteral("duration_ms"));
        return o;
    };
    QCOMPARE(withoutDuration(cache.body(job)), withoutDuration(compact(job)));
    job.progress = {QStringLiteral("3"), QStringLiteral("KSampler"), 2, 8}; // a running job changes: never kept
    QVERIFY(cache.body(job).contains("KSampler"));
    QCOMPARE(withoutDuration(cache.body(job)), withoutDuration(compact(job)));
    job.state = JobState::Succeeded;
    job.finishedAt = job.createdAt.addMSecs(1500);
    job.outputs.append(
        {QStringLiteral("9"), {QStringLiteral("images"), QStringLiteral("a.png"), {}, QStringLiteral("output")}});
    const QByteArray finished = compact(job);
    QCOMPARE(cache.body(job), finished);
    QVERIFY(finished.contains("a.png"));
    QCOMPARE(cache.body(job), finished); // the kept bytes
    // A stored change of the finished job (an attempt found to have run anyway): made afresh.
    job.attempts.append({QStringLiteral("gpu0"),
                         QStringLiteral("http://127.0.0.1:8188"),
                         QStringLiteral("p1"),
                         job.createdAt,
                         {},
                         {},
                         QStringLiteral("superseded"),
                         QStringLiteral("ran after it was taken back")});
    ++job.revision;
    QVERIFY(cache.body(job).contains("superseded"));
    QCOMPARE(cache.body(job), compact(job));
    // Another job under the same id (a pruned id never comes back, but the check is cheap): made afresh.
    Job other = job;
    other.finishedAt = job.finishedAt.addSecs(5);
    other.state = JobState::Failed;
    QCOMPARE(cache.body(other), compact(other));
    QVERIFY(cache.body(other) != finished);
}

QTEST_GUILESS_MAIN(TstApiUnits)
#include "tst_apiunits.moc"
