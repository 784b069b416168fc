#pragma once
// What the monitor knows about the runner's jobs and workflows, parsed once from the REST API's JSON
// (jobs: protocol/jobrecord.h; GET /api/v1/workflows/{name}; GET /api/v1/system). Parsers are lenient: a
// missing or mistyped field gets its default, so a newer runner with more fields still works.

#include "protocol/jobrecord.h"

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

// The job wire model is the protocol's (one definition for the runner and the monitor).
using JobState = protocol::JobState;
using JobOutput = protocol::JobOutput;
using JobInfo = protocol::JobRecord;
using protocol::isFinal;
using protocol::jobStateFromName;
using protocol::jobStateName;

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
struct DownloadedOutput {
    QString jobId;
    int index = 0;
    QString filename;
    QString contentType;
    QByteArray bytes;
};

} // namespace cr::monitor

Q_DECLARE_METATYPE(cr::monitor::DownloadedOutput)
