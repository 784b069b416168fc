#pragma once
// Asks the runner where its relay listens (RestClient::discoverRelay: GET /api/v1/system, else the guess
// port + 1), one attempt at a time: only the newest attempt's answer is delivered, so an answer that
// arrives after cancel() or after a newer start() (disconnected, or connected elsewhere meanwhile) never
// opens the relay.

#include "gui/client/monitortypes.h"

#include <QObject>

namespace cr::monitor {

class RestClient;

class RelayDiscovery final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(RelayDiscovery)

public:
    // rest: not owned; its base URL is the runner asked.
    explicit RelayDiscovery(RestClient *rest, QObject *parent = nullptr);

    void start();                                  // a new attempt; an earlier one still under way is abandoned
    void cancel();                                 // abandons the attempt under way (if any)
    bool isActive() const { return m_active; }     // an attempt is waiting for its answer
    quint64 attempts() const { return m_attempt; } // started or cancelled so far

signals:
    // The answer of the newest attempt (never for an abandoned one).
    void discovered(const cr::monitor::RelayEndpoint &endpoint);

private:
    RestClient *m_rest;
    quint64 m_attempt = 0; // an answer is delivered only when its attempt is still this one
    bool m_active = false;
};

} // namespace cr::monitor
