#pragma once
// A relay client that stops reading: a plain TCP socket with a 4 KiB receive buffer that completes the
// WebSocket handshake and then never reads again, so the relay's writes to it back up at once.

#include <QString>

namespace cr::bench {

class StalledClient
{
public:
    StalledClient() = default;
    ~StalledClient() { close(); }
    StalledClient(const StalledClient &) = delete;
    StalledClient &operator=(const StalledClient &) = delete;

    bool open(quint16 port, QString *error); // blocking, bounded by a 5 s timeout
    void close();
    bool isOpen() const { return m_fd >= 0; }
    quint16 localPort() const; // to find this connection in the relay's per-client statistics

private:
    int m_fd = -1;
};

} // namespace cr::bench
