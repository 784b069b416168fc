#include "core/api/legacyanswers.h"

namespace cr::legacy {

QString healthStatus() { return QStringLiteral("ComfyUI Workflow Runner is running"); }
QString serverRunning() { return QStringLiteral("Server running"); }
QString queueCompleted() { return QStringLiteral("completed successfully"); }
QString updatedText(const QString &nodeId)
{
    return QStringLiteral("Updated text in node %1 successfully").arg(nodeId);
}
QString updatedImage(const QString &nodeId, const QString &image)
{
    return QStringLiteral("Updated image in node %1 to %2 successfully").arg(nodeId, image);
}
QString interruptReceived() { return QStringLiteral("Interrupt request received, processing..."); }
QString workflowCompleted() { return QStringLiteral("Workflow completed successfully"); }

QString noWorkflowLoaded() { return QStringLiteral("No workflow loaded"); }
QString queueNoImage() { return QStringLiteral("completed but no image found"); }
QString queueFailed(JobState state)
{
    return state == JobState::Cancelled ? QStringLiteral("generation failed - interrupted")
                                        : QStringLiteral("generation failed - error");
}
QString queueTimeout() { return QStringLiteral("workflow timeout - check /status for completion"); }
QString failedText(const QString &nodeId) { return QStringLiteral("Failed to update text in node %1").arg(nodeId); }
QString failedImage(const QString &nodeId) { return QStringLiteral("Failed to update image in node %1").arg(nodeId); }

QString executionStatus(const Job *newest)
{
    if (!newest)
        return QStringLiteral("idle");
    switch (newest->state) {
    case JobState::Queued:
    case JobState::Running:
        return QStringLiteral("running");
    case JobState::Succeeded:
        return QStringLiteral("completed");
    case JobState::Cancelled:
        return QStringLiteral("interrupted");
    case JobState::Failed:
    case JobState::Lost:
    case JobState::Unknown:
        break;
    }
    return QStringLiteral("error");
}

QJsonObject withStatus(const QString &status, QJsonObject body)
{
    body.insert(QStringLiteral("STATUS"), status);
    return body;
}

QJsonObject errorBody(const Error &error, const QString &status, QJsonObject extra)
{
    extra.insert(QStringLiteral("error"), error.toJson());
    return withStatus(status, std::move(extra));
}

} // namespace cr::legacy
