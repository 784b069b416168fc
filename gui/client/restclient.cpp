#include "gui/client/restclient.h"

#include "gui/client/monitorlog.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>

namespace cr::monitor {

namespace {

QString encoded(const QString &segment) { return QString::fromLatin1(QUrl::toPercentEncoding(segment)); }

// The runner's error body, or a transport error.
Error errorOf(QNetworkReply *reply, const QByteArray &body, bool timedOut)
{
    if (timedOut)
        return Error::make(RestErrorCode::Timeout,
                           QStringLiteral("no answer from %1").arg(reply->url().toString(QUrl::RemoveQuery)));
    const QJsonObject err = QJsonDocument::fromJson(body).object().value(QLatin1String("error")).toObject();
    if (!err.isEmpty()) {
        Error e;
        e.code = err.value(QLatin1String("code")).toString();
        e.message = err.value(QLatin1String("message")).toString();
        e.details = err.value(QLatin1String("details")).toObject();
        e.details.insert(QStringLiteral("http_status"),
                         reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt());
        return e;
    }
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    if (status >= 400)
        return Error::make(RestErrorCode::BadResponse,
                           QStringLiteral("HTTP %1 from %2").arg(status).arg(reply->url().path()),
                           {{QStringLiteral("http_status"), status}});
    return Error::make(RestErrorCode::Network, reply->errorString());
}

Result<JobInfo> jobResult(const QJsonDocument &doc)
{
    if (auto job = protocol::parseJob(doc.object()))
        return *job;
    return Error::make(RestErrorCode::BadResponse, QStringLiteral("the answer is not a job"));
}

} // namespace

RestClient::RestClient(QObject *parent) : QObject(parent), m_nam(new QNetworkAccessManager(this)) { }

RestClient::~RestClient() = default;

void RestClient::setBaseUrl(const QUrl &url)
{
    m_base = url;
    m_base.setQuery(QString());
    QString path = m_base.path();
    while (path.endsWith(QLatin1Char('/')))
        path.chop(1);
    m_base.setPath(path);
}

void RestClient::setToken(const QString &token) { m_token = token.toUtf8(); }

QUrl RestClient::urlFor(const QString &path) const
{
    QUrl url = m_base;
    const qsizetype q = path.indexOf(QLatin1Char('?'));
    url.setPath(m_base.path() + (q < 0 ? path : path.left(q)), QUrl::TolerantMode);
    if (q >= 0)
        url.setQuery(path.mid(q + 1));
    return url;
}

void RestClient::send(const QByteArray &method, const QString &path, const QByteArray &body, QObject *context,
                      RawDone done, int timeoutMs, bool reportFailure)
{
    QNetworkRequest request(urlFor(path));
    request.setTransferTimeout(timeoutMs < 0 ? m_timeoutMs : timeoutMs);
    request.setRawHeader("Accept", "application/json");
    if (!m_token.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + m_token);
    if (!body.isNull())
        request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
    QNetworkReply *reply = m_nam->sendCustomRequest(request, method, body);
    ++m_pending;
    const qint64 limit = m_maxDownloadBytes;
    connect(reply, &QNetworkReply::downloadProgress, reply, [reply, limit](qint64 received, qint64 total) {
        if (received > limit || total > limit) {
            reply->setProperty("cr_too_large", true);
            reply->abort();
        }
    });
    QPointer<QObject> guard(context);
    const bool hasContext = context != nullptr;
    connect(reply, &QNetworkReply::finished, this,
            [this, reply, guard, hasContext, done = std::move(done), method, path, reportFailure] {
                --m_pending;
                reply->deleteLater();
                const QByteArray bytes
                    = reply->isOpen() ? reply->readAll() : QByteArray(); // closed after a timeout abort
                const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
                Result<QByteArray> result = bytes;
                if (reply->property("cr_too_large").toBool()) {
                    result = Error::make(RestErrorCode::TooLarge,
                                         QStringLiteral("the answer is larger than %1 bytes").arg(m_maxDownloadBytes));
                } else if (reply->error() != QNetworkReply::NoError || status >= 400 || status == 0) {
                    const bool timedOut = reply->error() == QNetworkReply::OperationCanceledError
                        || reply->error() == QNetworkReply::TimeoutError;
                    result = errorOf(reply, bytes, timedOut && status == 0);
                }
                if (!result) {
                    qCInfo(lcMonitorNet).noquote()
                        << method << path << "failed:" << result.error().code << result.error().message;
                    if (reportFailure)
                        emit requestFailed(QString::fromLatin1(method), path, result.error());
                }
                if (hasContext && !guard)
                    return;
                done(std::move(result), reply);
            });
}

template <typename T>
void RestClient::sendJson(const QByteArray &method, const QString &path, const QByteArray &body, QObject *context,
                          Callback<T> done, std::function<Result<T>(const QJsonDocument &)> parse)
{
    send(method, path, body, context,
         [done = std::move(done), parse = std::move(parse)](Result<QByteArray> r, QNetworkReply *) {
             if (!r)
                 return done(r.error());
             QJsonParseError pe{};
             const QJsonDocument doc = QJsonDocument::fromJson(*r, &pe);
             if (pe.error != QJsonParseError::NoError)
                 return done(Error::make(RestErrorCode::BadResponse,
                                         QStringLiteral("the answer is not JSON: %1").arg(pe.errorString())));
             done(parse(doc));
         });
}

void RestClient::listJobs(int limit, QObject *context, Callback<QList<JobInfo>> done)
{
    sendJson<QList<JobInfo>>("GET", QStringLiteral("/api/v1/jobs?limit=%1").arg(limit), QByteArray(), context,
                             std::move(done), [](const QJsonDocument &doc) -> Result<QList<JobInfo>> {
                                 if (!doc.object().value(QLatin1String("jobs")).isArray())
                                     return Error::make(RestErrorCode::BadResponse,
                                                        QStringLiteral("no \"jobs\" list in the answer"));
                                 return protocol::parseJobList(doc.object());
                             });
}

void RestClient::getJob(const QString &id, QObject *context, Callback<JobInfo> done)
{
    sendJson<JobInfo>("GET", QStringLiteral("/api/v1/jobs/") + encoded(id), QByteArray(), context, std::move(done),
                      &jobResult);
}

void RestClient::createJob(const QString &workflow, const QJsonObject &inputs, QObject *context, Callback<JobInfo> done)
{
    QJsonObject body{{QStringLiteral("workflow"), workflow}};
    if (!inputs.isEmpty())
        body.insert(QStringLiteral("inputs"), inputs);
    sendJson<JobInfo>("POST", QStringLiteral("/api/v1/jobs"), QJsonDocument(body).toJson(QJsonDocument::Compact),
                      context, std::move(done), &jobResult);
}

void RestClient::cancelJob(const QString &id, QObject *context, Callback<JobInfo> done)
{
    sendJson<JobInfo>("POST", QStringLiteral("/api/v1/jobs/%1/cancel").arg(encoded(id)), QByteArrayLiteral("{}"),
                      context, std::move(done), &jobResult);
}

void RestClient::listBackends(QObject *context, Callback<QList<BackendStatus>> done)
{
    sendJson<QList<BackendStatus>>("GET", QStringLiteral("/api/v1/backends"), QByteArray(), context, std::move(done),
                                   [](const QJsonDocument &doc) -> Result<QList<BackendStatus>> {
                                       if (!doc.object().value(QLatin1String("backends")).isArray())
                                           return Error::make(RestErrorCode::BadResponse,
                                                              QStringLiteral("no \"backends\" list in the answer"));
                                       return protocol::parseBackendList(doc.object());
                                   });
}

void RestClient::setBackendDraining(const QString &name, bool drain, QObject *context, Callback<BackendStatus> done)
{
    const QString path = QStringLiteral("/api/v1/backends/%1/%2")
                             .arg(encoded(name), drain ? QStringLiteral("drain") : QStringLiteral("resume"));
    sendJson<BackendStatus>("POST", path, QByteArrayLiteral("{}"), context, std::move(done),
                            [](const QJsonDocument &doc) -> Result<BackendStatus> {
                                if (auto b = protocol::parseBackend(doc.object()))
                                    return *b;
                                return Error::make(RestErrorCode::BadResponse,
                                                   QStringLiteral("the answer is not a backend"));
                            });
}

void RestClient::fetchOutput(const QString &jobId, int index, QObject *context, Callback<DownloadedOutput> done)
{
    send("GET", QStringLiteral("/api/v1/jobs/%1/outputs/%2").arg(encoded(jobId)).arg(index), QByteArray(), context,
         [jobId, index, done = std::move(done)](Result<QByteArray> r, QNetworkReply *reply) {
             if (!r)
                 return done(r.error());
             DownloadedOutput f;
             f.jobId = jobId;
             f.index = index;
             f.contentType = reply->header(QNetworkRequest::ContentTypeHeader).toString();
             const QString disposition = QString::fromUtf8(reply->rawHeader("Content-Disposition"));
             const qsizetype at = disposition.indexOf(QLatin1String("filename="));
             if (at >= 0)
                 f.filename
                     = disposition.mid(at + 9).remove(QLatin1Char('"')).section(QLatin1Char(';'), 0, 0).trimmed();
             f.bytes = *r;
             done(std::move(f));
         });
}

void RestClient::listWorkflows(QObject *context, Callback<QStringList> done)
{
    sendJson<QStringList>("GET", QStringLiteral("/api/v1/workflows"), QByteArray(), context, std::move(done),
                          [](const QJsonDocument &doc) -> Result<QStringList> {
                              return workflowNamesFromJson(doc.isArray() ? QJsonValue(doc.array())
                                                                         : QJsonValue(doc.object()));
                          });
}

void RestClient::getWorkflow(const QString &name, QObject *context, Callback<WorkflowInfo> done)
{
    sendJson<WorkflowInfo>("GET", QStringLiteral("/api/v1/workflows/") + encoded(name), QByteArray(), context,
                           std::move(done), [name](const QJsonDocument &doc) -> Result<WorkflowInfo> {
                               if (!doc.isObject())
                                   return Error::make(RestErrorCode::BadResponse,
                                                      QStringLiteral("the answer is not a workflow"));
                               return workflowFromJson(doc.object(), name);
                           });
}

void RestClient::discoverRelay(QObject *context, std::function<void(RelayEndpoint)> done)
{
    const QUrl runner = m_base;
    send(
        "GET", QStringLiteral("/api/v1/system"), QByteArray(), context,
        [runner, done = std::move(done)](Result<QByteArray> r, QNetworkReply *) {
            RelayEndpoint endpoint;
            if (r) {
                const std::optional<int> port = relayPortFromSystem(QJsonDocument::fromJson(*r).object());
                endpoint.url = port ? relayUrlAt(runner, *port) : QUrl();
                endpoint.reported = !endpoint.url.isEmpty();
                if (!endpoint.reported)
                    endpoint.fallbackReason
                        = QStringLiteral("the runner does not name its relay port (older runner, or no relay)");
            } else {
                endpoint.fallbackReason = QStringLiteral("GET /api/v1/system: %1").arg(r.error().message);
            }
            if (!endpoint.reported) {
                endpoint.url = defaultRelayUrl(runner);
                qCInfo(lcMonitorNet).noquote()
                    << "relay port not reported:" << endpoint.fallbackReason << "- guessing" << endpoint.url.toString();
            }
            done(std::move(endpoint));
        },
        qMin(m_timeoutMs, m_discoveryTimeoutMs), false);
}

} // namespace cr::monitor
