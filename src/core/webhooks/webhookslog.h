#pragma once
// The webhooks module's logging category, "comfyrunner.webhooks".

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcWebhooks)
