#pragma once
// The relay transport's logging category ("comfyrunner.relay", defined in relayserver.cpp), declared once for
// every file of the module that logs as it. Never log per event or preview frame.

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcRelay)
