#pragma once
// The HTTP half of the conversation with one ComfyUI: every route the service uses, asynchronous, with a
// timeout, and failures as typed cr::Error values (comfy_unreachable, comfy_timeout, comfy_error with the
// status and ComfyUI's body, comfy_validation with ComfyUI's error and node_errors intact).

#include "protocol/comfyevents.h"
#include "protocol/error.h"

#include <QHash>
#include <QJsonObject>
#include <QObject>
#include <QPointer>
#include <QStringList>
#include <QUrl>

#include <functional>

class QNetworkAccessManager;
class QNetworkReply;

namespace cr {

// ComfyUI's answer to POST /prompt (200).
struct SubmitAck {
    QString promptId;
    double number = 0;
    QJsonObject nodeErrors; // can be non-empty on 200: those outputs were dropped, the rest runs
};

// GET /queue, reduced to ids (ordered by priority) plus the raw answer.
struct QueueSnapshot {
    QStringList running;
    QStringList pending;
    QJsonObject raw;
    bool contains(const QString &promptId) const { return running.contains(promptId) || pending.contains(promptId); }
};

class ComfyHttp final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ComfyHttp)

public:
    template <typename T>
    using Callback = std::function<void(Result<T>)>;
    using Done = std::function<void(Status)>;

    ComfyHttp(QUrl baseUrl, int timeoutMs, QObject *parent = nullptr);

    QUrl baseUrl() const { return m_base; }

    // POST /prompt with the given (client-generated) prompt id.
    void submitPrompt(const QString &promptId, const QJsonObject &graph, const QString &clientId,
                      const QJsonObject &extraData, Callback<SubmitAck> done);
    // GET /history/{id}: the entry, or an empty object when ComfyUI does not know the id (yet).
    void history(const QString &promptId, Callback<QJsonObject> done);
    void queue(Callback<QueueSnapshot> done);
    // POST /api/jobs/{prompt_id}/cancel (a newer ComfyUI that advertises supports_job_cancel): dequeues or
    // interrupts that prompt, whichever applies. `supported` is false when ComfyUI has no such route (404/405).
    void cancelJob(const QString &promptId, std::function<void(Status, bool supported)> done);
    // POST /interrupt {"prompt_id"}: stops that prompt only if it is running now.
    void interrupt(const QString &promptId, Done done);
    // POST /queue {"delete": ids}: removes pending prompts.
    void deleteFromQueue(const QStringList &promptIds, Done done);
    // POST /upload/image (multipart): ComfyUI's {"name", "subfolder", "type"}.
    void uploadImage(const QByteArray &bytes, const QString &fileName, const QString &contentType,
                     const QString &subfolder, const QString &type, bool overwrite, Callback<QJsonObject> done);
    void systemStats(Callback<QJsonObject> done);
    // GET /node_replacements of a newer ComfyUI ({} when it has no such route: 404).
    void nodeReplacements(Callback<QJsonObject> done);
    // GET /object_info, fetched once and cached (it is large and stalls ComfyUI while built).
    void objectInfo(Callback<QJsonObject> done);
    // Drops the cached /object_info: the next objectInfo() asks ComfyUI again (after a reconnect).
    void forgetObjectInfo() { m_objectInfo = {}; }
    // GET /models (folder empty: the folder names) or GET /models/{folder} (the file names in it).
    void models(const QString &folder, Callback<QStringList> done);
    // GET /view for an output file, streamed: the caller reads the reply as data arrives and deletes it.
    // The reply has the transfer timeout set; it is parented to nothing.
    // range: a Range header passed on as is ("" for the whole file).
    QNetworkReply *openView(const protocol::OutputFile &file, const QByteArray &range = {});
    // The /view URL of a file (percent-encoded), as the Python project exposed it.
    QUrl viewUrl(const protocol::OutputFile &file) const;

private:
    QNetworkReply *send(const QByteArray &verb, const QString &path, const QByteArray &body = {},
                        const QByteArray &contentType = "application/json");
    // Calls `handle(status, body)` when the reply ends; network failures become Errors.
    void onFinished(QNetworkReply *reply, std::function<void(Result<QByteArray>, int status)> handle);

    QUrl m_base;
    int m_timeoutMs;
    QNetworkAccessManager *m_nam;
    QJsonObject m_objectInfo;
    QList<Callback<QJsonObject>> m_objectInfoWaiters;
};

} // namespace cr
