// Streams a job's output file from ComfyUI's /view to the client without buffering it: the upstream reply's
// read buffer is bounded, reading pauses while the client's socket has more than HighWater bytes queued and
// resumes on bytesWritten; a client that leaves aborts the upstream request.
// Range requests (one byte range, byterange.h): the range goes to /view (in its canonical spelling); a 206 from ComfyUI
// (aiohttp's FileResponse) is passed on with its Content-Range, a 416 becomes range_not_satisfiable, and a 200 (a /view
// that ignores Range) is sliced here against its Content-Length. Inline text outputs are answered from the job.

#include "core/api/apierrors.h"
#include "core/api/apilog.h"
#include "core/api/byterange.h"
#include "core/api/controllers.h"
#include "core/pool/backendpool.h"
#include "protocol/outputkind.h"

#include "core/comfy/comfyclient.h"
#include "core/jobs/jobmanager.h"

#include <QNetworkReply>
#include <QPointer>
#include <QTcpSocket>

namespace cr {

namespace {

constexpr qint64 HighWater = 1024 * 1024;
constexpr qint64 UpstreamBuffer = 256 * 1024;

// "inline; filename=..." for a name that may come from the caller (a node id of its graph) or from ComfyUI:
// quotes, backslashes and control characters (CR, LF) are dropped, so the name cannot end the header.
QByteArray contentDisposition(QString name)
{
    name.removeIf([](QChar c) { return c == u'"' || c == u'\\' || c.unicode() < 0x20 || c.unicode() == 0x7f; });
    return QStringLiteral("inline; filename=\"%1\"").arg(name).toUtf8();
}

// Owned by JobsRoutes' download holder; deletes itself (deleteLater) once the client was answered or left.
class OutputStream final : public QObject
{
    Q_DISABLE_COPY_MOVE(OutputStream)

public:
    // range: the client's Range (what went upstream), nullopt for the whole file; contentType: the output's.
    OutputStream(QNetworkReply *upstream, ApiReply reply, QString fileName, std::optional<RangeSpec> range,
                 QByteArray contentType, QObject *parent)
        : QObject(parent), m_up(upstream), m_reply(std::move(reply)), m_fileName(std::move(fileName)), m_range(range),
          m_contentType(std::move(contentType))
    {
        m_up->setParent(this);
        m_up->setReadBufferSize(UpstreamBuffer);
        QTcpSocket *socket = m_reply.socket();
        m_socket = socket;
        connect(m_up, &QNetworkReply::readyRead, this, &OutputStream::pump);
        connect(m_up, &QNetworkReply::finished, this, &OutputStream::onFinished);
        if (socket) {
            connect(socket, &QIODevice::bytesWritten, this, &OutputStream::pump);
            connect(socket, &QAbstractSocket::disconnected, this, [this] {
                qCInfo(lcApi) << "client left during an output download; aborting the upstream request";
                close();
            });
        }
    }

    // Deleted with its owner (server shutdown) before it was done: the client's connection is closed.
    ~OutputStream() override
    {
        if (m_done)
            return;
        disconnect(m_up, nullptr, this, nullptr);
        m_up->abort();
        m_reply.abort();
    }

private:
    int upstreamStatus() const { return m_up->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(); }

    // Sends the response head once ComfyUI answered with a body to pass on (200, or 206 to a Range). False
    // while there is nothing to stream (another status, answered by onFinished) and after a HEAD request or a
    // 416 (then the stream is closed).
    bool start()
    {
        if (m_started)
            return true;
        const int status = upstreamStatus();
        if (status != 200 && !(status == 206 && m_range))
            return false;
        m_started = true;
        QByteArray type = m_contentType;
        const QByteArray upstreamType = m_up->header(QNetworkRequest::ContentTypeHeader).toByteArray();
        if (type.isEmpty() || (type == "application/octet-stream" && !upstreamType.isEmpty()))
            type = upstreamType.isEmpty() ? QByteArray("application/octet-stream") : upstreamType;
        const QVariant len = m_up->header(QNetworkRequest::ContentLengthHeader);
        qint64 length = len.isValid() ? len.toLongLong() : -1;
        HeaderPairs headers{{"Content-Disposition", contentDisposition(m_fileName)}, {"Accept-Ranges", "bytes"}};
        int answer = 200;
        if (status == 206) { // ComfyUI served the range
            answer = 206;
            headers.append({"Content-Range", m_up->rawHeader("Content-Range")});
        } else if (m_range && length >= 0) { // a /view that ignored Range: slice its body here
            const RangeResolution r = resolveRange(m_range, length);
            if (r.kind == RangeResolution::Kind::Unsatisfiable) {
                unsatisfiable(unsatisfiedRange(length));
                return false;
            }
            answer = 206;
            headers.append({"Content-Range", r.range.contentRange(length)});
            m_skip = r.range.first;
            m_remaining = r.range.length();
            length = m_remaining;
        }
        m_reply.begin(answer, type, length, headers);
        if (m_reply.isHeadOnly()) {
            close();
            return false;
        }
        return true;
    }

    void unsatisfiable(const QByteArray &contentRange)
    {
        m_reply.error(
            Error::make(
                ErrorCode::RangeNotSatisfiable,
                QStringLiteral("the requested range is outside the output (%1)").arg(QString::fromLatin1(contentRange)),
                {{QStringLiteral("content_range"), QString::fromLatin1(contentRange)}}),
            {{"Content-Range", contentRange}, {"Accept-Ranges", "bytes"}});
        close();
    }

    void pump()
    {
        if (m_done || !start())
            return;
        if (!m_socket) { // the client is gone
            close();
            return;
        }
        while (m_up->bytesAvailable() > 0 && m_socket->bytesToWrite() < HighWater && m_remaining != 0) {
            QByteArray chunk = m_up->read(64 * 1024);
            if (m_skip > 0) {
                const qint64 dropped = qMin<qint64>(m_skip, chunk.size());
                chunk.remove(0, dropped);
                m_skip -= dropped;
            }
            if (m_remaining > 0 && chunk.size() > m_remaining)
                chunk.truncate(m_remaining);
            if (m_remaining > 0)
                m_remaining -= chunk.size();
            m_reply.write(chunk);
        }
        if (m_remaining == 0 || (m_up->isFinished() && m_up->bytesAvailable() == 0)) {
            m_reply.end();
            close();
        }
    }

    void onFinished()
    {
        if (m_done)
            return;
        if (!m_started) {
            const int status = upstreamStatus();
            if ((status == 200 || (status == 206 && m_range)) && m_up->error() == QNetworkReply::NoError) {
                pump(); // a body that fits the read buffer: no readyRead came before finished
                return;
            }
            if (status == 416 && m_range) {
                const QByteArray upstreamRange = m_up->rawHeader("Content-Range");
                unsatisfiable(upstreamRange.isEmpty() ? QByteArray("bytes */*") : upstreamRange);
                return;
            }
            // Every other outcome gets an error answer, a 2xx/3xx other than 200 (204, a 206 to no Range, a
            // redirect not followed) included: there is no file to pass on.
            if (status == 404 || status == 400)
                m_reply.error(Error::make(ErrorCode::OutputNotFound,
                                          QStringLiteral("ComfyUI no longer has the file \"%1\"").arg(m_fileName),
                                          {{QStringLiteral("filename"), m_fileName}}));
            else if (status != 0 && status != 200)
                m_reply.error(Error::make(ErrorCode::ComfyError,
                                          QStringLiteral("ComfyUI answered /view with HTTP %1").arg(status),
                                          {{QStringLiteral("status"), status}}));
            else
                m_reply.error(
                    Error::make(ErrorCode::ComfyUnreachable,
                                QStringLiteral("cannot read the file from ComfyUI: %1").arg(m_up->errorString())));
            close();
            return;
        }
        if (m_up->error() != QNetworkReply::NoError) {
            // Broken mid-body: the client cannot get a complete file; closing tells it so.
            m_reply.abort();
            close();
            return;
        }
        pump();
    }

    // Done: no more signals, the upstream request ends, the object goes.
    void close()
    {
        if (m_done)
            return;
        m_done = true;
        disconnect(m_up, nullptr, this, nullptr);
        if (m_socket)
            disconnect(m_socket, nullptr, this, nullptr);
        if (!m_up->isFinished())
            m_up->abort();
        deleteLater();
    }

    QNetworkReply *m_up;
    ApiReply m_reply;
    QPointer<QTcpSocket> m_socket;
    QString m_fileName;
    std::optional<RangeSpec> m_range;
    QByteArray m_contentType;
    qint64 m_skip = 0;       // bytes of a 200 body before the range (slicing)
    qint64 m_remaining = -1; // bytes of the range still to send (slicing); -1: up to the end of the body
    bool m_started = false;
    bool m_done = false;
};

// An output held by the job itself (inline text): answered at once, Range included.
void answerInline(const ApiReply &reply, const QByteArray &body, const QByteArray &contentType, const QString &name,
                  const std::optional<RangeSpec> &range)
{
    const HeaderPairs common{{"Content-Disposition", contentDisposition(name)}, {"Accept-Ranges", "bytes"}};
    const RangeResolution r = resolveRange(range, body.size());
    if (r.kind == RangeResolution::Kind::Unsatisfiable) {
        const QByteArray cr = unsatisfiedRange(body.size());
        reply.error(
            Error::make(ErrorCode::RangeNotSatisfiable,
                        QStringLiteral("the requested range is outside the output (%1)").arg(QString::fromLatin1(cr)),
                        {{QStringLiteral("content_range"), QString::fromLatin1(cr)}}),
            {{"Content-Range", cr}, {"Accept-Ranges", "bytes"}});
        return;
    }
    if (r.kind == RangeResolution::Kind::Whole) {
        reply.raw(200, body, contentType, common);
        return;
    }
    HeaderPairs headers = common;
    headers.append({"Content-Range", r.range.contentRange(body.size())});
    reply.raw(206, body.mid(r.range.first, r.range.length()), contentType, headers);
}

} // namespace

void streamOutput(const ApiContext &ctx, const QString &jobId, int index, ApiReply reply, QObject *owner,
                  const QByteArray &rangeHeader)
{
    const Job *job = ctx.jobs->find(jobId);
    if (!job || index >= job->outputs.size()) {
        reply.error(Error::make(ErrorCode::OutputNotFound,
                                QStringLiteral("job %1 has no output %2 (it has %3)")
                                    .arg(jobId)
                                    .arg(index)
                                    .arg(job ? job->outputs.size() : 0),
                                {{QStringLiteral("job_id"), jobId}, {QStringLiteral("index"), index}}));
        return;
    }
    if (!reply.isOpen())
        return; // the client already left
    const NodeOutputFile &output = job->outputs.at(index);
    const protocol::OutputFile file = output.file;
    const std::optional<RangeSpec> range = parseRangeHeader(rangeHeader);
    const QByteArray contentType = protocol::outputContentType(file).toUtf8();
    if (file.isInlineText()) {
        answerInline(reply, file.text.toUtf8(), contentType, protocol::outputDownloadName(file, output.nodeId, index),
                     range);
        return;
    }
    // From the backend that made it (the job's last attempt); the first backend for jobs from before pools.
    // Another runner's job (a cluster): the same ComfyUI by its URL, which this runner may name otherwise.
    const QString madeAt = job->attempts.isEmpty() ? QString() : job->attempts.constLast().backendUrl;
    const Backend *made = ctx.pool && !job->remote ? ctx.pool->find(job->backend()) : nullptr;
    for (const Backend *b : ctx.pool && job->remote ? ctx.pool->backends() : QList<Backend *>())
        if (JobManager::backendUrlKey(b->settings().url) == madeAt)
            made = b;
    if (job->remote && !made)
        return reply.error(
            Error::make(ErrorCode::ComfyUnreachable,
                        QStringLiteral("job %1 ran on a ComfyUI this runner does not reach; runner \"%2\" does")
                            .arg(job->id, job->node),
                        {{QStringLiteral("node"), job->node}}));
    ComfyClient *comfy = made ? made->client() : ctx.comfy;
    QNetworkReply *upstream = comfy->http()->openView(file, range ? cr::rangeHeader(*range) : QByteArray());
    new OutputStream(upstream, reply, file.filename, range, contentType, owner); // deletes itself when done
}

} // namespace cr
