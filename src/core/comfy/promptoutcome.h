#pragma once
// How a prompt ended: status, every output file of every output node, the nodes served from ComfyUI's cache,
// and ComfyUI's error. Read from its /history entry (protocol doc §2.7), or built from the prompt's own events
// when they all arrived over one unbroken connection (PromptEvents).

#include "protocol/comfyevents.h"

#include <QJsonObject>
#include <QList>
#include <QMetaType>
#include <QString>

#include <optional>

namespace cr {

// One output file and the node that made it.
struct NodeOutputFile {
    QString nodeId;
    protocol::OutputFile file;
    bool operator==(const NodeOutputFile &) const = default;
};

struct PromptOutcome {
    enum class Status {
        Succeeded,
        Failed,      // runtime error (execution_error)
        Interrupted, // execution_interrupted
        Cancelled,   // removed from ComfyUI's queue before it ran
        Lost,        // ComfyUI does not know it any more (restarted), or it could not be read back
    };

    QString promptId;
    Status status = Status::Lost;
    QList<NodeOutputFile> files; // in node-id order, then as listed
    QJsonObject outputs;         // history "outputs", as ComfyUI sent it (text outputs included)
    QStringList cachedNodes;     // execution_cached: nodes with a cache hit when the run started
    std::optional<protocol::ExecutionErrorEvent> error;
    QString reason; // a sentence for Lost/Cancelled/Failed
    enum class Source { History, Events, None };
    Source source = Source::None; // where it was read from (None: made up by the client, e.g. Lost)

    // Reads a /history/{id} entry; nullopt when the entry is empty (not finished / unknown).
    static std::optional<PromptOutcome> fromHistory(const QString &promptId, const QJsonObject &entry);
    // Sets `outputs` and derives `files` from it (node-id order, then as listed), as for a history entry.
    void setOutputs(const QJsonObject &uiOutputs);
    // The reason sentence for a Failed outcome with this error (ComfyUI's message, trimmed).
    static QString failureReason(const std::optional<protocol::ExecutionErrorEvent> &error);
};

QString promptStatusName(PromptOutcome::Status status);

} // namespace cr

Q_DECLARE_METATYPE(cr::PromptOutcome)
