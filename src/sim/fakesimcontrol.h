#pragma once
// The simulator's control API: faults on demand and its state over HTTP, under /sim/ on the ComfyUI port (not a
// ComfyUI path), for benchmarks, demos and scripts that cannot call FakeComfy's C++ setters. FakeComfy hands it
// every /sim/ request once FakeComfy::setControlApiEnabled(true) (comfy-sim does); these requests are answered
// at once even while HTTP is stalled or delayed. Errors are {"error": {"code", "message", "details"}} with the
// service's codes (400 invalid_json, missing_field, invalid_field, unknown_parameter; 404 not_found; 405
// method_not_allowed; 500 internal).
//
//   GET  /sim/state   {name, port, running, pending, prompts_received, prompts_accepted, history, websockets,
//                      loaded_checkpoint, model_loads, models {folder: [files]} (non-empty folders), options {...},
//                      faults {http_stalled, ws_silent, refusing_connections, response_delay_ms,
//                      fail_next_prompt}}
//   GET  /sim/prompts {"prompts": [{prompt_id, received_mono_ns, status, finished_mono_ns}]}: the newest 1000
//                      POST /prompt, when each was handled and when its run ended (null until then) on
//                      CLOCK_MONOTONIC (shared by every process on the machine)
//   POST /sim/fault   {"fault": NAME, ...params} -> {"ok": true, "fault": NAME}
//       drop_websockets                          abort every WebSocket (no close frame)
//       restart        [down_ms]                 FakeComfy::restart() after the answer is sent; with down_ms > 0
//                                                the port also refuses connections for that long
//       refuse_connections [ms]                  stop listening (the port stays reserved); with ms, listen again
//                                                after that long; open keep-alive connections still work
//       accept_connections                       listen again
//       stall_http / unstall_http                accept requests and never answer them (except /sim/)
//       delay_http     ms                        answer every request this much later (0 = off; not /sim/)
//       ws_silent / ws_unsilent                  half-open WebSockets (FakeComfy::setWsSilent): silenced sockets
//                                                stay deaf until dropped; ws_unsilent spares new ones
//       fail_next_prompt [node] [message]        the next prompt raises RuntimeError (at `node`, or its first
//                                                node)

#include <QJsonObject>
#include <QObject>
#include <QString>

namespace cr::sim {

class FakeComfy;
struct FakeHttpRequest;
struct FakeHttpResponse;

class FakeSimControl final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(FakeSimControl)

public:
    FakeSimControl(FakeComfy &comfy, QObject *parent = nullptr);

    static QString prefix() { return QStringLiteral("/sim/"); }
    static QStringList faultNames();

    FakeHttpResponse handle(const FakeHttpRequest &request);
    QJsonObject state() const;
    QJsonObject prompts() const;

private:
    FakeHttpResponse postFault(const FakeHttpRequest &request);

    FakeComfy &m_comfy;
    int m_generation = 0; // bumped by every connection fault: a timer of an older one does nothing
};

} // namespace cr::sim
