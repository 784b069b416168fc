#pragma once
// Reconnect delays: the first retry waits `initialMs`, each further failed attempt multiplies the wait by
// `factor` up to `maxMs`; reset() after a good connection. An optional jitter spreads many monitors that
// lost the same runner (each delay is scaled by a random factor in [1 - jitter, 1]).

namespace cr::monitor {

class Backoff final
{
public:
    explicit Backoff(int initialMs = 250, int maxMs = 8000, double factor = 2.0, double jitter = 0.0);

    int next();                                 // the delay to wait before the next attempt; grows the following one
    int peek() const;                           // the next delay without jitter, without consuming it
    void reset();                               // back to initialMs (after a connection that worked)
    int attempts() const { return m_attempts; } // next() calls since the last reset

private:
    int m_initialMs;
    int m_maxMs;
    double m_factor;
    double m_jitter;
    double m_currentMs;
    int m_attempts = 0;
};

} // namespace cr::monitor
