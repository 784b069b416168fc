#include "core/comfy/comfyhttp.h"

#include "core/comfy/comfyurl.h"

#include <QHttpMultiPart>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QNetworkAccessManager>
#include <QNetworkReply>

Q_LOGGING_CATEGORY(lcComfyHttp, "comfyrunner.comfy.http")

namespace cr {

namespace {

QJsonObject parseObject(const QByteArray &body, bool *ok)
{
    QJsonParseError e{};
    const QJsonDocument doc = QJsonDocument::fromJson(body, &e);
    *ok = e.error == QJsonParseError::NoError && doc.isObject();
    return doc.object();
}

// A non-2xx answer as an Error; 400 with ComfyUI's {"error", "node_errors"} is a validation failure.
Error httpError(int status, const QByteArray &body)
{
    bool ok = false;
    const QJsonObject json = parseObject(body, &ok);
    if (status == 400 && ok && json.contains(QLatin1String("error"))) {
        const QJsonValue err = json.value(QLatin1String("error"));
        const QString message
            = err.isObject() ? err.toObject().value(QLatin1String("message")).toString() : err.toString();
        return Error::make(ErrorCode::ComfyValidation,
                           QStringLiteral("ComfyUI rejected the prompt: %1")
                               .arg(message.isEmpty() ? QStringLiteral("invalid prompt") : message),
                           {{QStringLiteral("error"), err},
                            {QStringLiteral("node_errors"), json.value(QLatin1String("node_errors"))}});
    }
    QJsonObject details{{QStringLiteral("status"), status}};
    if (ok)
        details.insert(QStringLiteral("body"), json);
    else
        details.insert(QStringLiteral("body"), QString::fromUtf8(body.left(2048)));
    return Error::make(ErrorCode::ComfyError, QStringLiteral("ComfyUI answered HTTP %1").arg(status), details);
}

Result<QJsonObject> objectFrom(const Result<QByteArray> &r)
{
    if (!r)
        return r.error();
    if (r.value().trimmed().isEmpty())
        return QJsonObject();
    bool ok = false;
    QJsonObject o = parseObject(r.value(), &ok);
    if (!ok)
        return Error::make(ErrorCode::ComfyError, QStringLiteral("ComfyUI sent a body that is not a JSON object"));
    return o;
}

QStringList idsOf(const QJsonArray &items)
{
    // Items are [number, prompt_id, prompt, extra_data, outputs]; pending is heap-ordered, so sort.
    QList<QPair<double, QString>> sorted;
    for (const QJsonValue &v : items) {
        const QJsonArray item = v.toArray();
        sorted.append({item.at(0).toDouble(), item.at(1).toString()});
    }
    std::sort(sorted.begin(), sorted.end());
    QStringList ids;
    for (const auto &p : sorted)
        ids << p.second;
    return ids;
}

} // namespace

ComfyHttp::ComfyHttp(QUrl baseUrl, int timeoutMs, QObject *parent)
    : QObject(parent), m_base(std::move(baseUrl)), m_timeoutMs(timeoutMs), m_nam(new QNetworkAccessManager(this))
{
    m_nam->setAutoDeleteReplies(false);
}

QNetworkReply *ComfyHttp::send(const QByteArray &verb, const QString &path, const QByteArray &body,
                               const QByteArray &contentType)
{
    QNetworkRequest req(comfyEndpoint(m_base, path));
    req.setTransferTimeout(m_timeoutMs);
    if (!body.isEmpty() || verb == "POST")
        req.setHeader(QNetworkRequest::ContentTypeHeader, contentType);
    return m_nam->sendCustomRequest(req, verb, body);
}

void ComfyHttp::onFinished(QNetworkReply *reply, std::function<void(Result<QByteArray>, int)> handle)
{
    connect(reply, &QNetworkReply::finished, this, [reply, handle = std::move(handle), this] {
        reply->deleteLater();
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        const QByteArray body = reply->readAll();
        const QNetworkReply::NetworkError err = reply->error();
        if (status == 0 || (err != QNetworkReply::NoError && err < QNetworkReply::ContentAccessDenied)) {
            const bool timeout = err == QNetworkReply::OperationCanceledError || err == QNetworkReply::TimeoutError;
            const QJsonObject details{{QStringLiteral("url"), m_base.toString()},
                                      {QStringLiteral("reason"), reply->errorString()}};
            handle(
                timeout
                    ? Error::make(ErrorCode::ComfyTimeout,
                                  QStringLiteral("ComfyUI did not answer within %1 ms").arg(m_timeoutMs), details)
                    : Error::make(
                        ErrorCode::ComfyUnreachable,
                        QStringLiteral("ComfyUI is unreachable at %1: %2").arg(m_base.toString(), reply->errorString()),
                        details),
                status);
            return;
        }
        if (status < 200 || status > 299) {
            handle(httpError(status, body), status);
            return;
        }
        handle(body, status);
    });
}

void ComfyHttp::submitPrompt(const QString &promptId, const QJsonObject &graph, const QString &clientId,
                             const QJsonObject &extraData, Callback<SubmitAck> done)
{
    QJsonObject extra = extraData;
    extra.insert(QStringLiteral("client_id"), clientId);
    const QJsonObject body{{QStringLiteral("prompt"), graph},
                           {QStringLiteral("prompt_id"), promptId},
                           {QStringLiteral("client_id"), clientId},
                           {QStringLiteral("extra_data"), extra}};
    QNetworkReply *reply = send("POST", QStringLiteral("/prompt"), QJsonDocument(body).toJson(QJsonDocument::Compact));
    onFinished(reply, [done, promptId](Result<QByteArray> r, int) {
        const Result<QJsonObject> obj = objectFrom(r);
        if (!obj) {
            done(obj.error());
            return;
        }
        SubmitAck ack;
        ack.promptId = obj->value(QLatin1String("prompt_id")).toString(promptId);
        ack.number = obj->value(QLatin1String("number")).toDouble();
        ack.nodeErrors = obj->value(QLatin1String("node_errors")).toObject();
        done(ack);
    });
}

void ComfyHttp::history(const QString &promptId, Callback<QJsonObject> done)
{
    QNetworkReply *reply
        = send("GET", QStringLiteral("/history/") + QString::fromUtf8(QUrl::toPercentEncoding(promptId)));
    onFinished(reply, [done, promptId](Result<QByteArray> r, int) {
        const Result<QJsonObject> obj = objectFrom(r);
        if (!obj)
            done(obj.error());
        else
            done(obj->value(promptId).toObject());
    });
}

void ComfyHttp::queue(Callback<QueueSnapshot> done)
{
    onFinished(send("GET", QStringLiteral("/queue")), [done](Result<QByteArray> r, int) {
        const Result<QJsonObject> obj = objectFrom(r);
        if (!obj) {
            done(obj.error());
            return;
        }
        QueueSnapshot q;
        q.raw = *obj;
        q.running = idsOf(obj->value(QLatin1String("queue_running")).toArray());
        q.pending = idsOf(obj->value(QLatin1String("queue_pending")).toArray());
        done(q);
    });
}

void ComfyHttp::interrupt(const QString &promptId, Done done)
{
    const QJsonObject body{{QStringLiteral("prompt_id"), promptId}};
    onFinished(send("POST", QStringLiteral("/interrupt"), QJsonDocument(body).toJson(QJsonDocument::Compact)),
               [done](Result<QByteArray> r, int) { done(r ? Status() : Status(r.error())); });
}

void ComfyHttp::cancelJob(const QString &promptId, std::function<void(Status, bool)> done)
{
    const QString path
        = QStringLiteral("/api/jobs/%1/cancel").arg(QString::fromLatin1(QUrl::toPercentEncoding(promptId)));
    onFinished(send("POST", path, QByteArray("{}")), [done](Result<QByteArray> r, int status) {
        done(r ? Status() : Status(r.error()), status != 404 && status != 405);
    });
}

void ComfyHttp::deleteFromQueue(const QStringList &promptIds, Done done)
{
    const QJsonObject body{{QStringLiteral("delete"), QJsonArray::fromStringList(promptIds)}};
    onFinished(send("POST", QStringLiteral("/queue"), QJsonDocument(body).toJson(QJsonDocument::Compact)),
               [done](Result<QByteArray> r, int) { done(r ? Status() : Status(r.error())); });
}

void ComfyHttp::uploadImage(const QByteArray &bytes, const QString &fileName, const QString &contentType,
                            const QString &subfolder, const QString &type, bool overwrite, Callback<QJsonObject> done)
{
    auto *multi = new QHttpMultiPart(QHttpMultiPart::FormDataType);
    auto field = [multi](const QString &name, const QByteArray &value) {
        QHttpPart part;
        part.setHeader(QNetworkRequest::ContentDispositionHeader, QStringLiteral("form-data; name=\"%1\"").arg(name));
        part.setBody(value);
        multi->append(part);
    };
    QHttpPart image;
    QString safeName = fileName;
    safeName.remove(QLatin1Char('"')).remove(QLatin1Char('\r')).remove(QLatin1Char('\n'));
    image.setHeader(QNetworkRequest::ContentDispositionHeader,
                    QStringLiteral("form-data; name=\"image\"; filename=\"%1\"").arg(safeName));
    image.setHeader(QNetworkRequest::ContentTypeHeader,
                    contentType.isEmpty() ? QStringLiteral("application/octet-stream") : contentType);
    image.setBody(bytes);
    multi->append(image);
    field(QStringLiteral("type"), type.isEmpty() ? QByteArray("input") : type.toUtf8());
    field(QStringLiteral("subfolder"), subfolder.toUtf8());
    field(QStringLiteral("overwrite"), overwrite ? "true" : "false");

    QNetworkRequest req(comfyEndpoint(m_base, QStringLiteral("/upload/image")));
    req.setTransferTimeout(m_timeoutMs);
    QNetworkReply *reply = m_nam->post(req, multi);
    multi->setParent(reply);
    onFinished(reply, [done](Result<QByteArray> r, int) { done(objectFrom(r)); });
}

void ComfyHttp::systemStats(Callback<QJsonObject> done)
{
    onFinished(send("GET", QStringLiteral("/system_stats")),
               [done](Result<QByteArray> r, int) { done(objectFrom(r)); });
}

void ComfyHttp::nodeReplacements(Callback<QJsonObject> done)
{
    onFinished(send("GET", QStringLiteral("/node_replacements")), [done](Result<QByteArray> r, int status) {
        if (!r && status == 404)
            return done(QJsonObject()); // ComfyUI 0.8: no replacements
        done(objectFrom(r));
    });
}

void ComfyHttp::objectInfo(Callback<QJsonObject> done)
{
    if (!m_objectInfo.isEmpty()) {
        done(m_objectInfo);
        return;
    }
    m_objectInfoWaiters.append(std::move(done));
    if (m_objectInfoWaiters.size() > 1)
        return; // one request serves every waiter
    onFinished(send("GET", QStringLiteral("/object_info")), [this](Result<QByteArray> r, int) {
        const Result<QJsonObject> obj = objectFrom(r);
        if (obj)
            m_objectInfo = *obj;
        const auto waiters = std::exchange(m_objectInfoWaiters, {});
        for (const auto &w : waiters)
            w(obj);
    });
}

void ComfyHttp::models(const QString &folder, Callback<QStringList> done)
{
    const QString path = folder.isEmpty()
        ? QStringLiteral("/models")
        : QStringLiteral("/models/") + QString::fromLatin1(QUrl::toPercentEncoding(folder));
    onFinished(send("GET", path), [done](Result<QByteArray> r, int) {
        if (!r) {
            done(r.error());
            return;
        }
        const QJsonDocument doc = QJsonDocument::fromJson(r.value());
        if (!doc.isArray()) {
            done(Error::make(ErrorCode::ComfyError, QStringLiteral("ComfyUI sent a model list that is not an array")));
            return;
        }
        QStringList names;
        for (const QJsonValue &v : doc.array())
            names << v.toString();
        done(names);
    });
}

QUrl ComfyHttp::viewUrl(const protocol::OutputFile &file) const
{
    QUrl url = comfyEndpoint(m_base, QStringLiteral("/view"));
    // Names and subfolders may hold spaces, '&' or '#': percent-encode every value.
    const QByteArray type = file.type.isEmpty() ? QByteArray("output") : file.type.toUtf8();
    url.setQuery(QString::fromLatin1("filename=" + QUrl::toPercentEncoding(file.filename)
                                     + "&subfolder=" + QUrl::toPercentEncoding(file.subfolder)
                                     + "&type=" + QUrl::toPercentEncoding(QString::fromUtf8(type))),
                 QUrl::StrictMode);
    return url;
}

QNetworkReply *ComfyHttp::openView(const protocol::OutputFile &file, const QByteArray &range)
{
    QNetworkRequest req(viewUrl(file));
    if (!range.isEmpty())
        req.setRawHeader("Range", range);
    req.setTransferTimeout(m_timeoutMs);
    QNetworkReply *reply = m_nam->get(req);
    reply->setParent(nullptr);
    return reply;
}

} // namespace cr
