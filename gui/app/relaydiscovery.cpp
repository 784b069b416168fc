#include "gui/app/relaydiscovery.h"

#include "gui/client/restclient.h"

namespace cr::monitor {

RelayDiscovery::RelayDiscovery(RestClient *rest, QObject *parent) : QObject(parent), m_rest(rest) { }

void RelayDiscovery::start()
{
    const quint64 attempt = ++m_attempt;
    m_active = true;
    m_rest->discoverRelay(this, [this, attempt](RelayEndpoint endpoint) {
        if (attempt != m_attempt)
            return; // cancelled, or a newer attempt started meanwhile
        m_active = false;
        emit discovered(endpoint);
    });
}

void RelayDiscovery::cancel()
{
    ++m_attempt;
    m_active = false;
}

} // namespace cr::monitor
