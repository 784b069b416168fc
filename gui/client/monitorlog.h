#pragma once
// Logging category of the monitor's client library ("monitor.net"). Never log per preview frame.

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcMonitorNet)
