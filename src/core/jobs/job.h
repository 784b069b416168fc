#pragma once
// One run of a workflow: a private copy of the graph with its inputs applied, and everything that happened
// to it in ComfyUI. Job id and ComfyUI prompt id are the same string.

#include "core/comfy/promptoutcome.h"
#include "protocol/error.h"
#include "protocol/jobrecord.h"

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QMetaType>
#include <QString>

#include <optional>

namespace cr {

// The states and their names are the wire model's (protocol/jobrecord.h); a job is never Unknown here.
using protocol::isFinal;
using protocol::JobState;
using protocol::jobStateFromName;
using protocol::jobStateName;

struct JobProgress {
    QString node;      // node id being executed
    QString nodeClass; // its class_type, when known
    double value = 0;
    double max = 0;
};

struct Job {
    QString id;        // also ComfyUI's prompt_id
    QString clientRef; // caller-supplied idempotency key (empty when none)
    QString workflow;  // workflow name, or "" for a posted graph
    QJsonObject graph; // what was submitted
    JobState state = JobState::Queued;
    QDateTime createdAt, startedAt, finishedAt;
    JobProgress progress;
    QStringList cachedNodes;
    QList<NodeOutputFile> outputs; // every file of every output node
    QJsonObject rawOutputs;        // ComfyUI's history outputs (text and other non-file outputs)
    std::optional<protocol::ExecutionErrorEvent> comfyError;
    QString reason; // why it failed / was cancelled / lost
    bool cancelRequested = false;

    bool isFinished() const { return isFinal(state); }
    qint64 durationMs() const;
};

} // namespace cr

Q_DECLARE_METATYPE(cr::Job)
