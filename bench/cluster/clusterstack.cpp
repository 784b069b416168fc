#include "bench/cluster/clusterstack.h"

#include "bench/common/benchwait.h"
#include "bench/common/minihttpclient.h"
#include "bench/common/procstats.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTextStream>
#include <QUrl>

namespace cr::bench {

namespace {

int g_databases = 0; // databases created by this process: each stack gets a fresh one

} // namespace

ClusterStack::ClusterStack(const StackOptions &options, QObject *parent)
    : QObject(parent), m_options(options), m_dir(QDir::tempPath() + QStringLiteral("/cr-bench-cluster-XXXXXX"))
{
    m_dir.setAutoRemove(!options.keepLogs);
    if (options.keepLogs && m_dir.isValid())
        QTextStream(stdout) << "logs in " << m_dir.path() << Qt::endl;
}

ClusterStack::~ClusterStack()
{
    stopRunners();
    stopSims();
}

bool ClusterStack::postgresAvailable() { return !qEnvironmentVariable("CR_TEST_PG_URL").isEmpty(); }

QList<qint64> ClusterStack::processIds() const
{
    QList<qint64> ids = m_sims.pids();
    for (const auto &p : m_runners)
        ids.append(p->pid());
    return ids;
}

QString ClusterStack::logTails() const
{
    QString out;
    for (size_t i = 0; i < m_runners.size(); ++i)
        out += QStringLiteral("--- runner r%1 ---\n%2\n").arg(i).arg(m_runners[i]->logTail());
    return out;
}

bool ClusterStack::startSims(int count, const QStringList &arguments, QString *error)
{
    if (!m_dir.isValid()) {
        *error = QStringLiteral("cannot create a temporary folder: %1").arg(m_dir.errorString());
        return false;
    }
    return m_sims.start(count, m_options.simProgram, arguments, m_dir.path(), error);
}

void ClusterStack::stopSims() { m_exitedCpuMs += m_sims.stop(); }

bool ClusterStack::createDatabase(QString *url, QString *error)
{
    // createdb from the same PostgreSQL as scripts/pg-test-cluster.sh, as its role, before any runner starts.
    QUrl base(qEnvironmentVariable("CR_TEST_PG_URL"));
    const QString name = QStringLiteral("cr_bench_%1_%2").arg(QCoreApplication::applicationPid()).arg(++g_databases);
    const QString bin = qEnvironmentVariable("CR_PG_BIN", QStringLiteral("/usr/lib/postgresql/15/bin"));
    QProcess createdb;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("PGPASSWORD"), qEnvironmentVariable("CR_TEST_PG_PASSWORD"));
    createdb.setProcessEnvironment(env);
    createdb.setProcessChannelMode(QProcess::MergedChannels);
    createdb.start(bin + QStringLiteral("/createdb"),
                   {QStringLiteral("-h"), base.host(), QStringLiteral("-p"), QString::number(base.port(5432)),
                    QStringLiteral("-U"), base.userName(), name});
    if (!createdb.waitForFinished(30'000) || createdb.exitCode() != 0) {
        *error = QStringLiteral("createdb %1 failed: %2").arg(name, QString::fromUtf8(createdb.readAll()));
        return false;
    }
    base.setPath(u'/' + name);
    *url = base.toString();
    return true;
}

bool ClusterStack::startRunners(const ClusterSetup &setup, QString *error)
{
    stopRunners();
    if (setup.runners > simCount() || (!setup.postgres && setup.runners != 1)) {
        *error = QStringLiteral("%1 runners on %2 with %3 simulators")
                     .arg(setup.runners)
                     .arg(setup.postgres ? QStringLiteral("PostgreSQL") : QStringLiteral("SQLite"))
                     .arg(simCount());
        return false;
    }
    ++m_generation;
    QString storeUrl;
    if (setup.postgres && !createDatabase(&storeUrl, error))
        return false;
    if (!setup.postgres)
        storeUrl = QStringLiteral("sqlite:") + m_dir.filePath(QStringLiteral("jobs-%1.sqlite").arg(m_generation));
    QByteArray base; // --runner-config first, ours after it
    if (!m_options.runnerConfig.isEmpty()) {
        QFile in(m_options.runnerConfig);
        if (!in.open(QIODevice::ReadOnly)) {
            *error = QStringLiteral("cannot read %1").arg(m_options.runnerConfig);
            return false;
        }
        base = in.readAll() + '\n';
    }
    for (int i = 0; i < setup.runners; ++i) {
        const QString node = QStringLiteral("r%1").arg(i);
        const QString tag = QStringLiteral("%1-%2").arg(m_generation).arg(node);
        const QString dataDir = m_dir.filePath(QStringLiteral("data-") + tag);
        QDir().mkpath(dataDir);
        QByteArray toml = base + "\n[[backends]]\nname = \"gpu\"\nurl = \"http://127.0.0.1:"
            + QByteArray::number(simPort(i)) + "\"\nmax_in_flight = " + QByteArray::number(setup.maxInFlight)
            + "\n\n[jobs]\nkeep = 5000\n\n" + "[store]\nurl = \"" + storeUrl.toUtf8() + "\"\n\n[cluster]\nnode = \""
            + node.toUtf8() + "\"\nlease = " + QByteArray::number(setup.leaseS)
            + "\n\n[log]\nrules = \"comfyrunner.api.info=false\"\n" + m_options.extraConfig;
        QFile out(m_dir.filePath(QStringLiteral("runner-") + tag + QStringLiteral(".toml")));
        if (!out.open(QIODevice::WriteOnly) || out.write(toml) != toml.size()) {
            *error = QStringLiteral("cannot write %1").arg(out.fileName());
            return false;
        }
        out.close();
        auto runner = std::make_unique<ChildProcess>(QStringLiteral("comfy-runner ") + node);
        runner->setWorkingDirectory(m_dir.path());
        QStringList env = m_options.runnerEnvironment;
        if (setup.postgres)
            env.append(QStringLiteral("COMFY_RUNNER_DB_PASSWORD=") + qEnvironmentVariable("CR_TEST_PG_PASSWORD"));
        if (!env.isEmpty())
            runner->addEnvironment(env);
        const QStringList args
            = m_options.runnerArguments + QStringList{QStringLiteral("--config"),        out.fileName(),
                                                      QStringLiteral("--http-port"),     QStringLiteral("0"),
                                                      QStringLiteral("--relay-port"),    QStringLiteral("0"),
                                                      QStringLiteral("--workflows-dir"), m_options.workflowsDir,
                                                      QStringLiteral("--workflow"),      m_options.workflow,
                                                      QStringLiteral("--data-dir"),      dataDir};
        if (!runner->start(m_options.runnerProgram, args,
                           m_dir.filePath(QStringLiteral("runner-") + tag + QStringLiteral(".log")), error))
            return false;
        quint16 http = 0, relay = 0;
        if (!readRunnerPorts(*runner, &http, &relay, error))
            return false;
        m_runners.push_back(std::move(runner));
        m_httpPorts.append(http);
        if (!waitReady(i, error))
            return false;
    }
    return true;
}

bool ClusterStack::waitReady(int i, QString *error)
{
    // Ready: /api/v1/ready answers 200, its simulator has the runner's WebSocket, its backend is routable.
    MiniHttpClient api(host(), httpPort(i));
    MiniHttpClient sim(host(), simPort(i));
    QString last;
    const bool ready = waitUntil(
        [&] {
            const std::optional<HttpResponse> r = api.request("GET", "/api/v1/ready", {}, 2000);
            const std::optional<HttpResponse> s = sim.request("GET", "/sim/state", {}, 2000);
            const int sockets = s ? QJsonDocument::fromJson(s->body).object().value(u"websockets").toInt() : 0;
            // The backend takes jobs once connected with its node catalogue read (capabilities_known).
            const std::optional<HttpResponse> b
                = r && r->status == 200 ? api.request("GET", "/api/v1/backends", {}, 2000) : std::nullopt;
            const QJsonObject gpu = b
                ? QJsonDocument::fromJson(b->body).object().value(u"backends").toArray().first().toObject()
                : QJsonObject();
            if (sockets >= 1 && gpu.value(u"connected").toBool() && gpu.value(u"capabilities_known").toBool())
                return true;
            last = r ? QStringLiteral("/api/v1/ready: %1, simulator WebSockets: %2").arg(r->status).arg(sockets)
                     : QStringLiteral("no answer");
            runFor(50);
            return false;
        },
        20'000);
    if (!ready)
        *error = QStringLiteral("runner r%1 did not become ready (%2):\n%3")
                     .arg(i)
                     .arg(last, m_runners[size_t(i)]->logTail());
    return ready;
}

void ClusterStack::stopRunners()
{
    for (auto &r : m_runners) {
        m_exitedCpuMs += qMax<qint64>(0, procstats::cpuMs(r->pid()));
        r->stop();
    }
    m_runners.clear();
    m_httpPorts.clear();
}

} // namespace cr::bench
