// Streams a job's output file from ComfyUI's /view to the client without buffering it: the upstream reply's
// read buffer is bounded, reading pauses while the client's socket has more than HighWater bytes queued and
// resumes on bytesWritten; a client that leaves aborts the upstream request.

#include "core/api/apierrors.h"
#include "core/api/apilog.h"
#include "core/api/controllers.h"
#include "core/pool/backendpool.h"

#include "core/comfy/comfyclient.h"
#include "core/jobs/jobmanager.h"

#include <QNetworkReply>
#include <QPointer>
#include <QTcpSocket>

namespace cr {

namespace {

constexpr qint64 HighWater = 1024 * 1024;
constexpr qint64 UpstreamBuffer = 256 * 1024;

// Owned by JobsRoutes' download holder; deletes itself (deleteLater) once the client was answered or left.
class OutputStream final : public QObject
{
    Q_DISABLE_COPY_MOVE(OutputStream)

public:
    OutputStream(QNetworkReply *upstream, ApiReply reply, QString fileName, QObject *parent)
        : QObject(parent), m_up(upstream), m_reply(std::move(reply)), m_fileName(std::move(fileName))
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

    // Sends the response head once ComfyUI answered 200. False while there is nothing to stream (another
    // status, answered by onFinished) and after a HEAD request (then the stream is closed).
    bool start()
    {
        if (m_started)
            return true;
        if (upstreamStatus() != 200)
            return false;
        m_started = true;
        QByteArray type = m_up->header(QNetworkRequest::ContentTypeHeader).toByteArray();
        if (type.isEmpty())
            type = "application/octet-stream";
        const QVariant len = m_up->header(QNetworkRequest::ContentLengthHeader);
        QString safe = m_fileName;
        safe.remove(QLatin1Char('"')).remove(QLatin1Char('\r')).remove(QLatin1Char('\n')).remove(QLatin1Char('\\'));
        m_reply.begin(200, type, len.isValid() ? len.toLongLong() : -1,
                      {{"Content-Disposition", QStringLiteral("inline; filename=\"%1\"").arg(safe).toUtf8()}});
        if (m_reply.isHeadOnly()) {
            close();
            return false;
        }
        return true;
    }

    void pump()
    {
        if (m_done || !start())
            return;
        if (!m_socket) { // the client is gone
            close();
            return;
        }
        while (m_up->bytesAvailable() > 0 && m_socket->bytesToWrite() < HighWater)
            m_reply.write(m_up->read(64 * 1024));
        if (m_up->isFinished() && m_up->bytesAvailable() == 0) {
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
            if (status == 200 && m_up->error() == QNetworkReply::NoError) {
                pump(); // a body that fits the read buffer: no readyRead came before finished
                return;
            }
            // Every other outcome gets an error answer, a 2xx/3xx other than 200 (204, 206, a redirect not
            // followed) included: there is no file to pass on.
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
    bool m_started = false;
    bool m_done = false;
};

} // namespace

void streamOutput(const ApiContext &ctx, const QString &jobId, int index, ApiReply reply, QObject *owner)
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
    const protocol::OutputFile file = job->outputs.at(index).file;
    // From the backend that made it (the job's last attempt); the first backend for jobs from before pools.
    const Backend *made = ctx.pool ? ctx.pool->find(job->backend()) : nullptr;
    ComfyClient *comfy = made ? made->client() : ctx.comfy;
    QNetworkReply *upstream = comfy->http()->openView(file);
    new OutputStream(upstream, reply, file.filename, owner); // deletes itself when done
}

} // namespace cr
