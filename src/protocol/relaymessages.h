#pragma once
// The relay's own wire protocol (docs/relay-protocol.md), shared by the service (RelayServer) and the
// monitor: what clients send and subscribe to (relaysubscription.h) and what the relay sends them — control
// messages, the envelope, the type-4 preview with job_id (relaycontrol.h).

#include "protocol/jsonutil.h"
#include "protocol/relaycontrol.h"
#include "protocol/relaysubscription.h"
