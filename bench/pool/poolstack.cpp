#include "bench/pool/poolstack.h"

#include "bench/common/benchwait.h"
#include "bench/common/minihttpclient.h"
#include "bench/common/procstats.h"
#include "bench/common/servicestack.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTextStream>

namespace cr::bench {

PoolStack::PoolStack(const StackOptions &options, QObject *parent)
    : QObject(parent), m_options(options), m_dir(QDir::tempPath() + QStringLiteral("/cr-bench-pool-XXXXXX"))
{
    m_dir.setAutoRemove(!options.keepLogs);
    if (options.keepLogs && m_dir.isValid())
        QTextStream(stdout) << "logs in " << m_dir.path() << Qt::endl;
}

PoolStack::~PoolStack()
{
    stopRunner();
    stopSims();
}

QList<qint64> PoolStack::processIds() const
{
    QList<qint64> ids = m_sims.pids();
    if (m_runner)
        ids.append(m_runner->pid());
    return ids;
}

bool PoolStack::startSims(int count, const QStringList &arguments, QString *error)
{
    if (!m_dir.isValid()) {
        *error = QStringLiteral("cannot create a temporary folder: %1").arg(m_dir.errorString());
        return false;
    }
    return m_sims.start(count, m_options.simProgram, arguments, m_dir.path(), error);
}

void PoolStack::stopSims() { m_exitedCpuMs += m_sims.stop(); }

bool PoolStack::writeConfig(int backends, const RunnerSetup &setup, QString *path, QString *error)
{
    QByteArray toml;
    if (!m_options.runnerConfig.isEmpty()) { // --runner-config first; ours after it
        QFile in(m_options.runnerConfig);
        if (!in.open(QIODevice::ReadOnly)) {
            *error = QStringLiteral("cannot read %1").arg(m_options.runnerConfig);
            return false;
        }
        toml = in.readAll() + '\n';
    }
    toml += m_options.extraConfig;
    if (setup.config == RunnerSetup::Config::Comfy) {
        toml += "\n[comfy]\nurl = \"http://127.0.0.1:" + QByteArray::number(m_sims.port(0)) + "\"\n";
    } else {
        if (!setup.routing.isEmpty())
            toml += "\n[jobs]\nrouting = \"" + setup.routing.toUtf8() + "\"\n";
        for (int i = 0; i < backends; ++i) {
            toml += "\n[[backends]]\nname = \"" + simName(i).toUtf8()
                + "\"\nurl = \"http://127.0.0.1:" + QByteArray::number(m_sims.port(i))
                + "\"\nmax_in_flight = " + QByteArray::number(setup.maxInFlight) + '\n';
        }
    }
    QFile out(m_dir.filePath(QStringLiteral("runner-%1.toml").arg(m_runnerGeneration)));
    if (!out.open(QIODevice::WriteOnly) || out.write(toml) != toml.size()) {
        *error = QStringLiteral("cannot write %1").arg(out.fileName());
        return false;
    }
    *path = out.fileName();
    return true;
}

bool PoolStack::startRunner(int backends, const RunnerSetup &setup, QString *error, bool *poolUnsupported)
{
    if (poolUnsupported)
        *poolUnsupported = false;
    if (backends < 1 || backends > simCount()) {
        *error = QStringLiteral("%1 backends asked for, %2 simulators running").arg(backends).arg(simCount());
        return false;
    }
    stopRunner();
    ++m_runnerGeneration;
    QString config;
    if (!writeConfig(backends, setup, &config, error))
        return false;
    if (setup.config == RunnerSetup::Config::Backends) {
        // A runner without the pool ignores [[backends]] (an unknown table: a warning) and would talk to the
        // default URL; --check-config says so before anything starts.
        QProcess check;
        check.setProcessChannelMode(QProcess::MergedChannels);
        check.start(m_options.runnerProgram, {QStringLiteral("--check-config"), config});
        if (!check.waitForFinished(30'000)) {
            *error = QStringLiteral("%1 --check-config did not finish").arg(m_options.runnerProgram);
            return false;
        }
        const QByteArray out = check.readAll();
        if (out.contains("unknown key \"backends\"")) {
            if (poolUnsupported)
                *poolUnsupported = true;
            *error = QStringLiteral("this comfy-runner does not know [[backends]]");
            return false;
        }
        if (check.exitCode() != 0) {
            *error = QStringLiteral("comfy-runner refuses the configuration %1:\n%2")
                         .arg(config, QString::fromUtf8(out.right(2000)));
            return false;
        }
    }
    const QString dataDir = m_dir.filePath(QStringLiteral("data-%1").arg(m_runnerGeneration));
    QDir().mkpath(dataDir);
    m_runner = std::make_unique<ChildProcess>(QStringLiteral("comfy-runner"));
    m_runner->setWorkingDirectory(m_dir.path());
    if (!m_options.runnerEnvironment.isEmpty())
        m_runner->addEnvironment(m_options.runnerEnvironment);
    const QStringList args
        = m_options.runnerArguments + QStringList{QStringLiteral("--config"),        config,
                                                  QStringLiteral("--http-port"),     QStringLiteral("0"),
                                                  QStringLiteral("--relay-port"),    QStringLiteral("0"),
                                                  QStringLiteral("--workflows-dir"), m_options.workflowsDir,
                                                  QStringLiteral("--workflow"),      m_options.workflow,
                                                  QStringLiteral("--data-dir"),      dataDir};
    const QString log = m_dir.filePath(QStringLiteral("runner-%1.log").arg(m_runnerGeneration));
    if (!m_runner->start(m_options.runnerProgram, args, log, error))
        return false;
    if (!readRunnerPorts(*m_runner, &m_httpPort, &m_relayPort, error))
        return false;
    return waitReady(backends, setup, error);
}

bool PoolStack::waitReady(int backends, const RunnerSetup &setup, QString *error)
{
    MiniHttpClient api(host(), m_httpPort);
    bool listsBackends = false; // GET /api/v1/backends exists
    if (setup.config == RunnerSetup::Config::Backends) {
        const std::optional<HttpResponse> r = api.request("GET", "/api/v1/backends", {}, 5000, error);
        if (!r)
            return false;
        listsBackends = r->status == 200;
    }
    // Ready: /api/v1/ready, the pool lists every backend, and every simulator has the runner's WebSocket.
    QString last;
    const bool ready = waitUntil(
        [&] {
            const std::optional<HttpResponse> r = api.request("GET", "/api/v1/ready", {}, 2000);
            if (!r || r->status != 200) {
                last = r ? QStringLiteral("/api/v1/ready: %1").arg(r->status) : QStringLiteral("no answer");
                runFor(50);
                return false;
            }
            if (listsBackends) {
                const std::optional<HttpResponse> b = api.request("GET", "/api/v1/backends", {}, 2000);
                const QJsonDocument doc = QJsonDocument::fromJson(b ? b->body : QByteArray());
                const QJsonArray list
                    = doc.isArray() ? doc.array() : doc.object().value(QStringLiteral("backends")).toArray();
                if (list.size() != backends) {
                    last = QStringLiteral("/api/v1/backends lists %1 of %2").arg(list.size()).arg(backends);
                    runFor(50);
                    return false;
                }
            }
            const int connected = setup.config == RunnerSetup::Config::Comfy ? 1 : backends;
            for (int i = 0; i < connected; ++i) {
                MiniHttpClient sim(host(), m_sims.port(i));
                const std::optional<HttpResponse> s = sim.request("GET", "/sim/state", {}, 2000);
                const int sockets = s ? QJsonDocument::fromJson(s->body).object().value(u"websockets").toInt() : 0;
                if (sockets < 1) {
                    last = QStringLiteral("%1 has no WebSocket from the runner").arg(simName(i));
                    runFor(50);
                    return false;
                }
            }
            return true;
        },
        20'000);
    if (!ready) {
        *error = QStringLiteral("comfy-runner did not become ready (%1):\n%2").arg(last, m_runner->logTail());
        return false;
    }
    return true;
}

void PoolStack::stopRunner()
{
    if (m_runner) {
        m_exitedCpuMs += qMax<qint64>(0, procstats::cpuMs(m_runner->pid()));
        m_runner->stop();
    }
    m_runner.reset();
}

} // namespace cr::bench
