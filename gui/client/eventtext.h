#pragma once
// One-line summaries of relay events for the event log ("progress 12/20 on node 3", "job_finished
// succeeded"), and the log category of an event type.

#include "gui/client/relayclient.h"

#include <QString>

namespace cr::monitor {

// "comfy" (ComfyUI events), "job" (the service's job_* and image_generated events) or "relay".
QString eventCategory(const QString &typeName);
// A short human text for the event (without time, type or job id: the log shows those separately).
QString describeEvent(const MonitorEvent &event);

} // namespace cr::monitor
