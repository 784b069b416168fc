#pragma once
// The REST API's logging category ("comfyrunner.api", defined in apiserver.cpp), declared once for every
// file of the module. Never log per request at info level.

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcApi)
