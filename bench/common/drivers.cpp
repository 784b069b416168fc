#include "bench/common/drivers.h"

#include "bench/common/benchwait.h"

#include <QJsonDocument>
#include <QUrlQuery>
#include <QUuid>

namespace cr::bench {

namespace {

QString hint(const HttpResponse &r)
{
    return QStringLiteral("HTTP %1: %2").arg(r.status).arg(QString::fromUtf8(r.body.left(300)));
}

} // namespace

// ---- DirectDriver ---------------------------------------------------------------------------------------

DirectDriver::DirectDriver(const QList<quint16> &simPorts, QObject *parent) : QObject(parent), m_ports(simPorts) { }

DirectDriver::~DirectDriver() { close(); }

bool DirectDriver::open(QString *error)
{
    close();
    m_sims.resize(m_ports.size());
    for (qsizetype i = 0; i < m_ports.size(); ++i) {
        Sim &sim = m_sims[size_t(i)];
        sim.http = std::make_unique<MiniHttpClient>(QStringLiteral("127.0.0.1"), m_ports.at(i));
        sim.ws = std::make_unique<QWebSocket>();
        sim.clientId = QStringLiteral("bench-pool-") + QUuid::createUuid().toString(QUuid::Id128).left(12);
        QWebSocket *ws = sim.ws.get();
        const int index = int(i);
        connect(ws, &QWebSocket::connected, this, [ws] {
            ws->sendTextMessage(
                QStringLiteral(R"({"type": "feature_flags", "data": {"supports_preview_metadata": true}})"));
        });
        connect(ws, &QWebSocket::textMessageReceived, this, [this, index](const QString &t) { onText(index, t); });
        QUrl url(QStringLiteral("ws://127.0.0.1:%1/ws").arg(m_ports.at(i)));
        url.setQuery(QUrlQuery{{QStringLiteral("clientId"), sim.clientId}});
        ws->open(url);
    }
    const bool ready = waitUntil(
        [this] { return std::all_of(m_sims.cbegin(), m_sims.cend(), [](const Sim &s) { return s.ready; }); }, 10'000);
    if (!ready)
        *error = QStringLiteral("the direct WebSockets to the simulators did not open");
    return ready;
}

void DirectDriver::close()
{
    for (Sim &sim : m_sims) {
        if (sim.ws) {
            sim.ws->disconnect(this);
            sim.ws->abort();
        }
    }
    m_sims.clear();
    m_running.clear();
}

void DirectDriver::onText(int sim, const QString &text)
{
    if (text.contains(QLatin1String("\"feature_flags\""))) {
        m_sims[size_t(sim)].ready = true;
        return;
    }
    const bool executing = text.contains(QLatin1String("\"executing\""));
    const bool failed = text.contains(QLatin1String("\"execution_error\""))
        || text.contains(QLatin1String("\"execution_interrupted\""));
    if (!executing && !failed)
        return;
    const QJsonObject data = QJsonDocument::fromJson(text.toUtf8()).object().value(QStringLiteral("data")).toObject();
    const QString id = data.value(QStringLiteral("prompt_id")).toString();
    if (failed && m_running.contains(id))
        m_failure = QStringLiteral("prompt %1 on simulator %2: %3").arg(id).arg(sim).arg(text.left(300));
    if (!executing || !data.value(QStringLiteral("node")).isNull() || !m_running.contains(id))
        return;
    --m_sims[size_t(m_running.take(id))].inFlight;
    ++m_done;
    m_lastDoneNs = monotonicNs();
}

bool DirectDriver::submit(int sim, const QJsonObject &graph, QString *promptId, QString *error)
{
    Sim &s = m_sims[size_t(sim)];
    *promptId = QUuid::createUuid().toString(QUuid::WithoutBraces);
    // What comfy-runner sends: the graph, our prompt id, client_id, the preview method.
    const QByteArray body
        = QJsonDocument(QJsonObject{{QStringLiteral("prompt"), graph},
                                    {QStringLiteral("prompt_id"), *promptId},
                                    {QStringLiteral("client_id"), s.clientId},
                                    {QStringLiteral("extra_data"),
                                     QJsonObject{{QStringLiteral("preview_method"), QStringLiteral("auto")},
                                                 {QStringLiteral("client_id"), s.clientId}}}})
              .toJson(QJsonDocument::Compact);
    m_running.insert(*promptId, sim);
    ++s.inFlight;
    const std::optional<HttpResponse> r = s.http->request("POST", "/prompt", body, 30'000, error);
    if (!r)
        return false;
    if (r->status != 200) {
        *error = QStringLiteral("POST /prompt to simulator %1: %2").arg(sim).arg(hint(*r));
        return false;
    }
    return true;
}

bool DirectDriver::run(const QList<QJsonObject> &graphs, int maxInFlight, int timeoutMs, BatchResult *out,
                       QString *error)
{
    m_done = 0;
    m_failure.clear();
    for (const Sim &s : m_sims) {
        if (!s.http->ensureConnected()) {
            *error = QStringLiteral("cannot connect to a simulator");
            return false;
        }
    }
    qsizetype next = 0;
    int turn = 0;
    const int sims = int(m_sims.size());
    out->jobs = int(graphs.size());
    out->firstSentNs = monotonicNs();
    while (m_done < graphs.size()) {
        // Round robin over the simulators with room.
        bool sent = false;
        for (int k = 0; k < sims && next < graphs.size(); ++k) {
            const int sim = (turn + k) % sims;
            if (m_sims[size_t(sim)].inFlight >= maxInFlight)
                continue;
            QString id;
            if (!submit(sim, graphs.at(next++), &id, error))
                return false;
            turn = sim + 1;
            sent = true;
            break;
        }
        if (sent)
            continue;
        const int done = m_done;
        if (!waitUntil([&] { return m_done > done || !m_failure.isEmpty(); }, timeoutMs)) {
            *error = QStringLiteral("no prompt finished within %1 ms (%2 of %3 done)")
                         .arg(timeoutMs)
                         .arg(m_done)
                         .arg(graphs.size());
            return false;
        }
        if (!m_failure.isEmpty()) {
            *error = m_failure;
            return false;
        }
    }
    out->lastDoneNs = m_lastDoneNs;
    return true;
}

bool DirectDriver::runOne(int sim, const QJsonObject &graph, int timeoutMs, qint64 *sentNs, QString *promptId,
                          QString *error)
{
    m_failure.clear();
    if (!m_sims[size_t(sim)].http->ensureConnected()) {
        *error = QStringLiteral("cannot connect to simulator %1").arg(sim);
        return false;
    }
    *sentNs = monotonicNs();
    if (!submit(sim, graph, promptId, error))
        return false;
    const QString id = *promptId;
    if (!waitUntil([&] { return !m_running.contains(id) || !m_failure.isEmpty(); }, timeoutMs)) {
        *error = QStringLiteral("prompt %1 did not finish within %2 ms").arg(id).arg(timeoutMs);
        return false;
    }
    if (!m_failure.isEmpty())
        *error = m_failure;
    return m_failure.isEmpty();
}

// ---- JobDriver ------------------------------------------------------------------------------------------

JobDriver::JobDriver(const QString &host, quint16 httpPort, quint16 relayPort, const QString &workflow, QObject *parent)
    : QObject(parent), m_workflow(workflow), m_relayPort(relayPort), m_api(host, httpPort)
{
    connect(&m_ws, &QWebSocket::textMessageReceived, this, &JobDriver::onText);
    connect(&m_ws, &QWebSocket::connected, this,
            [this] { m_ws.sendTextMessage(QStringLiteral(R"({"type":"ping","data":{"id":"ready"}})")); });
}

bool JobDriver::open(QString *error)
{
    m_ws.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/?envelope=1&previews=off&types=job_finished,job_failed,"
                                  "job_cancelled&bench=pool")
                       .arg(m_relayPort)));
    if (!waitUntil([this] { return m_ready; }, 10'000)) {
        *error = QStringLiteral("the relay client did not connect: %1").arg(m_ws.errorString());
        return false;
    }
    if (!m_api.ensureConnected()) {
        *error = QStringLiteral("cannot connect to comfy-runner");
        return false;
    }
    return true;
}

void JobDriver::close() { m_ws.abort(); }

void JobDriver::onText(const QString &text)
{
    const QJsonObject o = QJsonDocument::fromJson(text.toUtf8()).object();
    const QString type = o.value(QStringLiteral("type")).toString();
    if (type == u"relay_pong") {
        m_ready = true;
        return;
    }
    if (type != u"job_finished" && type != u"job_failed" && type != u"job_cancelled")
        return;
    const QString id = o.value(QStringLiteral("job_id")).toString();
    m_finished.insert(id);
    m_finishedAtNs.insert(id, monotonicNs());
    if (type != u"job_finished")
        m_failures.insert(id, text.left(400));
}

bool JobDriver::submit(const QJsonObject &inputs, QString *jobId, QString *error)
{
    const QByteArray body
        = QJsonDocument(QJsonObject{{QStringLiteral("workflow"), m_workflow}, {QStringLiteral("inputs"), inputs}})
              .toJson(QJsonDocument::Compact);
    const std::optional<HttpResponse> r = m_api.request("POST", "/api/v1/jobs", body, 30'000, error);
    if (!r)
        return false;
    *jobId = QJsonDocument::fromJson(r->body).object().value(QStringLiteral("id")).toString();
    if ((r->status != 202 && r->status != 200) || jobId->isEmpty()) {
        *error = QStringLiteral("POST /api/v1/jobs: %1").arg(hint(*r));
        return false;
    }
    return true;
}

bool JobDriver::run(const QList<QJsonObject> &inputs, int window, int timeoutMs, BatchResult *out, QString *error)
{
    QSet<QString> open;
    qsizetype next = 0;
    int done = 0;
    qint64 lastDone = 0;
    out->jobs = int(inputs.size());
    out->firstSentNs = monotonicNs();
    auto collect = [&]() -> bool { // moves finished jobs out of `open`; false on a failed one
        for (auto it = open.begin(); it != open.end();) {
            if (!m_finished.contains(*it)) {
                ++it;
                continue;
            }
            if (m_failures.contains(*it)) {
                *error = QStringLiteral("job %1 did not succeed: %2").arg(*it, m_failures.value(*it));
                return false;
            }
            lastDone = qMax(lastDone, m_finishedAtNs.value(*it));
            m_finished.remove(*it);
            m_finishedAtNs.remove(*it);
            it = open.erase(it);
            ++done;
        }
        return true;
    };
    while (done < inputs.size()) {
        if (!collect())
            return false;
        if (next < inputs.size() && open.size() < window) {
            QString id;
            if (!submit(inputs.at(next++), &id, error))
                return false;
            open.insert(id);
            continue;
        }
        if (done >= inputs.size())
            break;
        const int before = done;
        if (!waitUntil(
                [&] {
                    return std::any_of(open.cbegin(), open.cend(),
                                       [this](const QString &id) { return m_finished.contains(id); });
                },
                timeoutMs)) {
            *error = QStringLiteral("no job finished within %1 ms (%2 of %3 done)")
                         .arg(timeoutMs)
                         .arg(before)
                         .arg(inputs.size());
            return false;
        }
    }
    out->lastDoneNs = lastDone;
    return true;
}

bool JobDriver::runOne(const QJsonObject &inputs, int timeoutMs, qint64 *sentNs, QString *jobId, QString *error)
{
    if (!m_api.ensureConnected()) {
        *error = QStringLiteral("cannot connect to comfy-runner");
        return false;
    }
    *sentNs = monotonicNs();
    if (!submit(inputs, jobId, error))
        return false;
    const QString id = *jobId;
    if (!waitUntil([&] { return m_finished.contains(id); }, timeoutMs)) {
        *error = QStringLiteral("job %1 did not finish within %2 ms").arg(id).arg(timeoutMs);
        return false;
    }
    m_finished.remove(id);
    m_finishedAtNs.remove(id);
    if (m_failures.contains(id)) {
        *error = QStringLiteral("job %1 did not succeed: %2").arg(id, m_failures.take(id));
        return false;
    }
    return true;
}

} // namespace cr::bench
