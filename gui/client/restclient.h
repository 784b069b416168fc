#pragma once
// A small client of the runner's REST API (/api/v1): jobs, workflows, backends and output downloads. Answers come
// back as Result<T> to a callback that runs only while its context object is alive. Errors keep the API's
// {"error": {"code", "message"}} shape; transport trouble gets the codes below.

#include "gui/client/monitortypes.h"
#include "protocol/backendstatus.h"
#include "protocol/error.h"

#include <QJsonObject>
#include <QObject>
#include <QPointer>
#include <QUrl>

#include <functional>

class QNetworkAccessManager;
class QNetworkReply;

namespace cr::monitor {

using BackendStatus = protocol::BackendStatus;

// Codes of errors that did not come from the runner's error body.
namespace RestErrorCode {
inline constexpr char Network[] = "network_error";    // refused, reset, DNS...
inline constexpr char Timeout[] = "timeout";          // no answer within the timeout
inline constexpr char BadResponse[] = "bad_response"; // not the JSON we expect
inline constexpr char TooLarge[] = "too_large";       // a download beyond the limit
} // namespace RestErrorCode

class RestClient final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(RestClient)

public:
    template <typename T>
    using Callback = std::function<void(Result<T>)>;

    explicit RestClient(QObject *parent = nullptr);
    ~RestClient() override;

    void setBaseUrl(const QUrl &url); // http://host:port of the runner (a path prefix is kept)
    QUrl baseUrl() const { return m_base; }
    void setToken(const QString &token);
    void setTimeoutMs(int ms) { m_timeoutMs = ms; }
    void setMaxDownloadBytes(qint64 bytes) { m_maxDownloadBytes = bytes; }
    int pendingRequests() const { return m_pending; }

    // GET /api/v1/jobs?limit=N (newest first).
    void listJobs(int limit, QObject *context, Callback<QList<JobInfo>> done);
    // GET /api/v1/jobs/{id}.
    void getJob(const QString &id, QObject *context, Callback<JobInfo> done);
    // POST /api/v1/jobs {"workflow": name, "inputs": {...}} -> the queued job.
    void createJob(const QString &workflow, const QJsonObject &inputs, QObject *context, Callback<JobInfo> done);
    // POST /api/v1/jobs/{id}/cancel -> the job (cancel requested).
    void cancelJob(const QString &id, QObject *context, Callback<JobInfo> done);
    // GET /api/v1/jobs/{id}/outputs/{index} -> the file's bytes.
    void fetchOutput(const QString &jobId, int index, QObject *context, Callback<DownloadedOutput> done);
    // GET /api/v1/workflows -> sorted names.
    void listWorkflows(QObject *context, Callback<QStringList> done);
    // GET /api/v1/workflows/{name} -> parameters and nodes.
    void getWorkflow(const QString &name, QObject *context, Callback<WorkflowInfo> done);
    // GET /api/v1/backends -> the runner's ComfyUI backends (an older runner answers 404 not_found).
    void listBackends(QObject *context, Callback<QList<BackendStatus>> done);
    // POST /api/v1/backends/{name}/drain or /resume -> the backend.
    void setBackendDraining(const QString &name, bool drain, QObject *context, Callback<BackendStatus> done);
    // GET /api/v1/system -> service.relay_port, as ws://<runner host>:<port>/. Never fails: when the
    // runner cannot say (an older runner without the field, relay_port null, an error, no answer within
    // discoveryTimeoutMs) the answer is defaultRelayUrl(baseUrl()) with reported = false and the reason.
    // Its failures are not emitted as requestFailed (the caller reports the fallback).
    void discoverRelay(QObject *context, std::function<void(RelayEndpoint)> done);
    void setDiscoveryTimeoutMs(int ms) { m_discoveryTimeoutMs = ms; }

signals:
    // Every failed request, for the event log (method, path, error).
    void requestFailed(const QString &method, const QString &path, const cr::Error &error);

private:
    using RawDone = std::function<void(Result<QByteArray> body, QNetworkReply *reply)>;
    // timeoutMs < 0: the client's timeout; reportFailure = false: no requestFailed for this request.
    void send(const QByteArray &method, const QString &path, const QByteArray &body, QObject *context, RawDone done,
              int timeoutMs = -1, bool reportFailure = true);
    template <typename T>
    void sendJson(const QByteArray &method, const QString &path, const QByteArray &body, QObject *context,
                  Callback<T> done, std::function<Result<T>(const QJsonDocument &)> parse);
    QUrl urlFor(const QString &path) const;

    QNetworkAccessManager *m_nam;
    QUrl m_base;
    QByteArray m_token;
    int m_timeoutMs = 15000;
    int m_discoveryTimeoutMs = 5000; // /system waits for ComfyUI's system_stats; do not wait that long
    qint64 m_maxDownloadBytes = 256ll * 1024 * 1024;
    int m_pending = 0;
};

} // namespace cr::monitor
