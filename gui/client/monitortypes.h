#pragma once
// What the monitor knows about the runner's jobs and workflows, parsed once from the REST API's JSON
// (src/core/api/apijson.cpp, GET /api/v1/workflows/{name}). Parsers are lenient: a missing or mistyped
// field gets its default, so a newer runner with more fields still works.

#include <QByteArray>
#include <QDateTime>
#include <QJsonObject>
#include <QJsonValue>
#include <QList>
#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QUrl>

#include <optional>

namespace cr::monitor {

// A job's state as the runner names it.
enum class JobState { Queued, Running, Succeeded, Failed, Cancelled, Lost, Unknown };
QString jobStateName(JobState state);           // "queued" ... "lost", "unknown"
JobState jobStateFromName(const QString &name); // Unknown for anything else
inline bool isFinal(JobState s) { return s != JobState::Queued && s != JobState::Running && s != JobState::Unknown; }

// One file a job produced ({"index", "node_id", "filename", "kind", "url"}).
struct JobOutput {
    int index = 0;
    QString nodeId;
    QString filename;
    QString kind; // "images", "gifs", ...
    QString url;  // path on the runner: /api/v1/jobs/{id}/outputs/{n}
    bool isImage() const; // kind "images" or an image file extension
};

// A job as GET /api/v1/jobs/{id} returns it.
struct JobInfo {
    QString id;
    QString workflow;
    JobState state = JobState::Unknown;
    QDateTime createdAt, startedAt, finishedAt; // invalid when null
    qint64 durationMs = -1;                     // -1 when null
    QString progressNode;
    QString progressClass;
    double progressValue = 0;
    double progressMax = 0;
    QList<JobOutput> outputs;
    QString errorMessage; // error.message (ComfyUI's exception) when failed
    QString reason;       // why it failed / was cancelled / lost
    bool cancelRequested = false;
};
std::optional<JobInfo> jobFromJson(const QJsonObject &object); // nullopt without a string "id"
QList<JobInfo> jobListFromJson(const QJsonObject &object);     // {"jobs": [...]}

// A named parameter of a workflow ({"name", "node", "input", "type", "value"}).
struct WorkflowParameter {
    QString name;
    QString nodeId;
    QString input;
    QString type; // "string" | "integer" | "float" | "boolean" | other
    QJsonValue value;
};

// A node of a workflow, for naming progress ({"id", "class_type", "title"}).
struct WorkflowNode {
    QString id;
    QString classType;
    QString title;
};

// GET /api/v1/workflows/{name}.
struct WorkflowInfo {
    QString name;
    QList<WorkflowParameter> parameters;
    QList<WorkflowNode> nodes;
    int nodeCount = 0; // nodes in the graph when the runner says so, else nodes.size()

    // The node's title, else its class, else "node <id>".
    QString nodeName(const QString &nodeId) const;
};
WorkflowInfo workflowFromJson(const QJsonObject &object, const QString &fallbackName = {});
// GET /api/v1/workflows: {"workflows": [{"name": ...} | "name", ...]} or a bare array; sorted names.
QStringList workflowNamesFromJson(const QJsonValue &value);

// ws://<runner host>:<port>/ (wss:// for an https runner); empty when the runner URL has no host or the
// port is not 1..65535.
QUrl relayUrlAt(const QUrl &runnerUrl, int port);
// The guess for a runner that does not name its relay port: ws://<same host>:<http port + 1>/ (8189 -> 8190).
QUrl defaultRelayUrl(const QUrl &runnerUrl);
// service.relay_port of a GET /api/v1/system answer; nullopt when it is missing, null or not a port
// (an older runner, or one without a relay).
std::optional<int> relayPortFromSystem(const QJsonObject &system);

// Where a runner's relay listens (RestClient::discoverRelay).
struct RelayEndpoint {
    QUrl url;               // empty only when the runner URL has no host
    bool reported = false;  // true: the runner named the port; false: the guess defaultRelayUrl()
    QString fallbackReason; // why the guess is used (reported == false)
};

// A downloaded output file.
struct OutputFile {
    QString jobId;
    int index = 0;
    QString filename;
    QString contentType;
    QByteArray bytes;
};

} // namespace cr::monitor

Q_DECLARE_METATYPE(cr::monitor::JobInfo)
Q_DECLARE_METATYPE(cr::monitor::OutputFile)
