#pragma once
// How a prompt ended, read from its ComfyUI /history entry (protocol doc §2.7): status, every output file
// of every output node, and ComfyUI's error.

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
    std::optional<protocol::ExecutionErrorEvent> error;
    QString reason; // a sentence for Lost/Cancelled/Failed

    // Reads a /history/{id} entry; nullopt when the entry is empty (not finished / unknown).
    static std::optional<PromptOutcome> fromHistory(const QString &promptId, const QJsonObject &entry);
};

QString promptStatusName(PromptOutcome::Status status);

} // namespace cr

Q_DECLARE_METATYPE(cr::PromptOutcome)
