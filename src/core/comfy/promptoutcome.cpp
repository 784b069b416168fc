#include "core/comfy/promptoutcome.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace cr {

QString promptStatusName(PromptOutcome::Status status)
{
    switch (status) {
    case PromptOutcome::Status::Succeeded:
        return QStringLiteral("succeeded");
    case PromptOutcome::Status::Failed:
        return QStringLiteral("failed");
    case PromptOutcome::Status::Interrupted:
        return QStringLiteral("interrupted");
    case PromptOutcome::Status::Cancelled:
        return QStringLiteral("cancelled");
    case PromptOutcome::Status::Lost:
        return QStringLiteral("lost");
    }
    return {};
}

std::optional<PromptOutcome> PromptOutcome::fromHistory(const QString &promptId, const QJsonObject &entry)
{
    if (entry.isEmpty())
        return std::nullopt;
    PromptOutcome o;
    o.promptId = promptId;
    o.source = Source::History;
    o.setOutputs(entry.value(QLatin1String("outputs")).toObject());
    const QJsonObject status = entry.value(QLatin1String("status")).toObject();
    const QJsonArray messages = status.value(QLatin1String("messages")).toArray();
    QString lastType;
    QJsonObject lastData;
    for (const QJsonValue &m : messages) {
        const QJsonArray pair = m.toArray();
        const QString type = pair.at(0).toString();
        if (type == QLatin1String("execution_cached")) {
            o.cachedNodes.clear();
            for (const QJsonValue &n : pair.at(1).toObject().value(QLatin1String("nodes")).toArray())
                o.cachedNodes.append(n.isString() ? n.toString() : QString::number(n.toInteger()));
        }
        if (type == QLatin1String("execution_error") || type == QLatin1String("execution_interrupted")
            || type == QLatin1String("execution_success")) {
            lastType = type;
            lastData = pair.at(1).toObject();
        }
    }
    if (status.value(QLatin1String("status_str")).toString() == QLatin1String("success")) {
        o.status = Status::Succeeded;
    } else if (lastType == QLatin1String("execution_interrupted")) {
        o.status = Status::Interrupted;
        o.reason = QStringLiteral("interrupted");
    } else {
        o.status = Status::Failed;
        // Parse the recorded execution_error through the same code as the live frame.
        const QJsonObject frame{{QStringLiteral("type"), QStringLiteral("execution_error")},
                                {QStringLiteral("data"), lastData}};
        if (lastType == QLatin1String("execution_error")) {
            if (auto ev = protocol::parseTextFrame(QJsonDocument(frame).toJson(QJsonDocument::Compact))) {
                if (const auto *err = ev->as<protocol::ExecutionErrorEvent>())
                    o.error = *err;
            }
        }
        o.reason = failureReason(o.error);
    }
    return o;
}

void PromptOutcome::setOutputs(const QJsonObject &uiOutputs)
{
    outputs = uiOutputs;
    files.clear();
    for (auto it = outputs.constBegin(); it != outputs.constEnd(); ++it) {
        for (const protocol::OutputFile &f : protocol::outputFilesFrom(it.value().toObject()))
            files.append({it.key(), f});
    }
}

QString PromptOutcome::failureReason(const std::optional<protocol::ExecutionErrorEvent> &error)
{
    const QString reason = error ? error->exceptionMessage.trimmed() : QString();
    return reason.isEmpty() ? QStringLiteral("ComfyUI reported an error") : reason;
}

} // namespace cr
