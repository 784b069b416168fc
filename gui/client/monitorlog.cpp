#include "gui/client/monitorlog.h"

Q_LOGGING_CATEGORY(lcMonitorNet, "monitor.net", QtInfoMsg)
