#include "runnerenv.h"

#include <QSignalSpy>
#include <QTest>

namespace cr::testing {

RunnerEnv::RunnerEnv()
{
    m_config.comfy.requestTimeoutMs = 5000;
    m_config.comfy.pingIntervalMs = 1000;
    m_config.comfy.reconnectMaxMs = 200;
    m_config.comfy.workflow = QStringLiteral("sd15_txt2img");
    m_config.http.host = QStringLiteral("127.0.0.1");
    m_config.http.port = 0;
    m_config.http.waitTimeoutMs = 10000;
    m_config.relay.host = QStringLiteral("127.0.0.1");
    m_config.relay.port = 0;
    m_config.paths.workflowsDir = QStringLiteral(CR_SOURCE_DIR "/workflows");
    m_config.paths.dataDir = m_data.path();
}

RunnerEnv::~RunnerEnv() { stopService(); }

bool RunnerEnv::start()
{
    if (!m_fake.listen())
        return false;
    m_config.comfy.url = m_fake.httpUrl();
    return startService();
}

bool RunnerEnv::startService()
{
    m_service = std::make_unique<Service>(m_config);
    QString error;
    if (!m_service->start(&error)) {
        qWarning() << "service did not start:" << error;
        return false;
    }
    // The same ports after a restart, like a runner restarted with its configuration.
    m_config.http.port = m_service->httpPort();
    m_config.relay.port = m_service->relayPort();
    return QTest::qWaitFor([this] { return m_fake.webSocketCount() > 0; }, 10000);
}

void RunnerEnv::stopService()
{
    if (m_service)
        m_service->stop();
    m_service.reset();
}

bool RunnerEnv::restart()
{
    stopService();
    if (!QTest::qWaitFor([this] { return m_fake.webSocketCount() == 0; }, 5000))
        qWarning() << "the old service's ComfyUI connection is still open";
    return startService();
}

QString RunnerEnv::httpUrl() const { return QStringLiteral("http://127.0.0.1:%1").arg(m_config.http.port); }

QString RunnerEnv::relayUrl() const { return QStringLiteral("ws://127.0.0.1:%1/").arg(m_config.relay.port); }

} // namespace cr::testing
