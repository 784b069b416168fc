#include "bench/common/servicestack.h"

#include "bench/common/benchwait.h"
#include "bench/common/minihttpclient.h"

#include <QDir>
#include <QFile>
#include <QTextStream>

namespace cr::bench {

bool readRunnerPorts(ChildProcess &runner, quint16 *httpPort, quint16 *relayPort, QString *error)
{
    const auto ports = runner.waitForLine(
        QRegularExpression(QStringLiteral("REST API on http://[^:]+:(\\d+), event relay on ws://[^:]+:(\\d+)")),
        15'000);
    if (!ports) {
        *error = QStringLiteral("comfy-runner did not report its ports:\n%1").arg(runner.logTail());
        return false;
    }
    *httpPort = quint16(ports->captured(1).toUInt());
    *relayPort = quint16(ports->captured(2).toUInt());
    return true;
}

ServiceStack::ServiceStack(QObject *parent)
    : QObject(parent), m_dir(QDir::tempPath() + QStringLiteral("/cr-bench-XXXXXX")), m_sim(QStringLiteral("sim")),
      m_runner(QStringLiteral("comfy-runner"))
{ }

ServiceStack::~ServiceStack() { stop(); }

bool ServiceStack::start(const StackOptions &options, QString *error)
{
    if (!m_dir.isValid()) {
        *error = QStringLiteral("cannot create a temporary folder: %1").arg(m_dir.errorString());
        return false;
    }
    m_dir.setAutoRemove(!options.keepLogs);
    if (options.keepLogs)
        QTextStream(stdout) << "logs in " << m_dir.path() << Qt::endl;

    if (!m_sim.start(options.simProgram,
                     options.simArguments + QStringList{QStringLiteral("--port"), QStringLiteral("0")},
                     m_dir.filePath(QStringLiteral("sim.log")), error))
        return false;
    const QRegularExpression listening(QStringLiteral("listening on http://127\\.0\\.0\\.1:(\\d+)"));
    const auto simLine = m_sim.waitForLine(listening, 15'000);
    if (!simLine) {
        *error = QStringLiteral("the simulator did not report its port:\n%1").arg(m_sim.logTail());
        return false;
    }
    m_simPort = quint16(simLine->captured(1).toUInt());

    const QString dataDir = m_dir.filePath(QStringLiteral("data"));
    QDir().mkpath(dataDir);
    m_runner.setWorkingDirectory(m_dir.path()); // no stray ./config.toml
    if (!options.runnerEnvironment.isEmpty())
        m_runner.addEnvironment(options.runnerEnvironment);
    QStringList config;
    if (!options.extraConfig.isEmpty()) {
        // A copy of the configuration with the extra tables, in the stack's folder.
        QByteArray toml;
        if (!options.runnerConfig.isEmpty()) {
            QFile in(options.runnerConfig);
            if (!in.open(QIODevice::ReadOnly)) {
                *error = QStringLiteral("cannot read %1").arg(options.runnerConfig);
                return false;
            }
            toml = in.readAll() + '\n';
        }
        QFile out(m_dir.filePath(QStringLiteral("runner-config.toml")));
        if (!out.open(QIODevice::WriteOnly) || out.write(toml + options.extraConfig) < 0) {
            *error = QStringLiteral("cannot write %1").arg(out.fileName());
            return false;
        }
        config = QStringList{QStringLiteral("--config"), out.fileName()};
    } else if (!options.runnerConfig.isEmpty()) {
        config = QStringList{QStringLiteral("--config"), options.runnerConfig};
    }
    const QStringList args = options.runnerArguments + config
        + QStringList{QStringLiteral("--http-port"),     QStringLiteral("0"),
                      QStringLiteral("--relay-port"),    QStringLiteral("0"),
                      QStringLiteral("--comfy-url"),     QStringLiteral("http://127.0.0.1:%1").arg(m_simPort),
                      QStringLiteral("--workflows-dir"), options.workflowsDir,
                      QStringLiteral("--workflow"),      options.workflow,
                      QStringLiteral("--data-dir"),      dataDir};
    if (!m_runner.start(options.runnerProgram, args, m_dir.filePath(QStringLiteral("runner.log")), error))
        return false;
    if (!readRunnerPorts(m_runner, &m_httpPort, &m_relayPort, error))
        return false;

    MiniHttpClient api(host(), m_httpPort);
    int lastStatus = 0;
    const bool ready = waitUntil(
        [&] {
            const std::optional<HttpResponse> r = api.request("GET", "/api/v1/ready", {}, 2000);
            lastStatus = r ? r->status : 0;
            if (lastStatus != 200)
                runFor(50);
            return lastStatus == 200;
        },
        15'000);
    if (!ready) {
        *error = QStringLiteral("comfy-runner did not become ready (last answer %1):\n%2")
                     .arg(lastStatus)
                     .arg(m_runner.logTail());
        return false;
    }
    return true;
}

void ServiceStack::stop()
{
    m_runner.stop();
    m_sim.stop();
}

} // namespace cr::bench
