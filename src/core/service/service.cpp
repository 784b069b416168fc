#include "core/service/service.h"

#include <QDir>
#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcService, "comfyrunner.service")

namespace cr {

// Everything the service owns, in construction order (destroyed in reverse).
struct Service::Parts {
    quint16 httpPort = 0;
    quint16 relayPort = 0;
};

Service::Service(Config config, QObject *parent)
    : QObject(parent), m_config(std::move(config)), m_parts(std::make_unique<Parts>())
{}

Service::~Service() { stop(); }

bool Service::start(QString *error)
{
    if (!QDir().mkpath(m_config.paths.dataDir)) {
        if (error)
            *error = QStringLiteral("cannot create the data folder %1").arg(m_config.paths.dataDir);
        return false;
    }
    qCInfo(lcService).noquote() << "starting with this configuration:\n" + m_config.toToml().trimmed();
    qCInfo(lcService) << "ready";
    return true;
}

void Service::stop() {}

quint16 Service::httpPort() const { return m_parts->httpPort; }
quint16 Service::relayPort() const { return m_parts->relayPort; }

} // namespace cr
