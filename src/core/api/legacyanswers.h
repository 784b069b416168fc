#pragma once
// The Python comfy_runner's answers, a frozen contract for the flows and scripts written against it: every
// answer of its routes carries a "STATUS" sentence that clients switch on, beside this service's own keys.
// The sentences live here and nowhere else (docs/api.md, "The Python project's routes"; each shape is pinned
// by tests/api/tst_apilegacy.cpp).

#include "core/jobs/job.h"
#include "protocol/error.h"

#include <QJsonObject>
#include <QString>

namespace cr::legacy {

// Success sentences.
QString healthStatus();                                            // GET /health
QString serverRunning();                                           // GET /status
QString queueCompleted();                                          // GET /queue with an image
QString updatedText(const QString &nodeId);                        // POST /update/text, /update/prompt
QString updatedImage(const QString &nodeId, const QString &image); // POST /update/image
QString interruptReceived();                                       // POST /interrupt
QString workflowCompleted();                                       // the relay's image_generated

// Failure sentences.
QString noWorkflowLoaded();                 // /queue, /update/* without a workflow
QString queueNoImage();                     // GET /queue: succeeded without a file
QString queueFailed(JobState state);        // "generation failed - error" | "- interrupted"
QString queueTimeout();                     // GET /queue ran out of wait_timeout
QString failedText(const QString &nodeId);  // "Failed to update text in node 999"
QString failedImage(const QString &nodeId); // "Failed to update image in node 999"

// /status's execution_status for the service's newest job: idle | running | completed | error | interrupted.
QString executionStatus(const Job *newest);

// {"STATUS": status, ...body}.
QJsonObject withStatus(const QString &status, QJsonObject body = {});
// An error answer's body: {"STATUS": status, "error": {...}, ...extra}.
QJsonObject errorBody(const Error &error, const QString &status, QJsonObject extra = {});

} // namespace cr::legacy
