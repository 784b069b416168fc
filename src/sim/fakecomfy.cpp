#include "sim/fakecomfy.h"

#include "protocol/binaryframe.h"
#include "sim/capture.h"
#include "sim/fakehttpserver.h"
#include "sim/fakeimages.h"
#include "sim/fakesimcontrol.h"

#include <QJsonArray>
#include <QLoggingCategory>
#include <QTimer>
#include <QUrlQuery>
#include <QUuid>
#include <QWebSocket>
#include <QtEndian>

#include <algorithm>

Q_LOGGING_CATEGORY(lcFakeComfy, "comfyrunner.fake")

namespace cr::sim {

namespace {

constexpr qint64 kMaxIncomingMessage = 4 * 1024 * 1024; // aiohttp's default max_msg_size
constexpr int kMaxHistory = 10000;

} // namespace

FakeComfy::FakeComfy(QObject *parent) : FakeComfy(FakeComfyOptions{}, parent) { }

FakeComfy::FakeComfy(const FakeComfyOptions &options, QObject *parent)
    : QObject(parent), m_options(options), m_http(new FakeHttpServer(this))
{
    m_http->setWebSocketPaths({QStringLiteral("/ws"), QStringLiteral("/api/ws")});
    m_http->setHandler([this](const FakeHttpRequest &request) { return handle(request); });
    m_http->setUpgradeFilter([this](const FakeHttpRequest &request) { return checkOrigin(request); });
    connect(m_http, &FakeHttpServer::newWebSocket, this, &FakeComfy::onNewWebSocket);
    connect(m_http, &FakeHttpServer::requestHandled, this, [this](const QByteArray &method, const QString &path, int) {
        m_requestLog.append(QString::fromLatin1(method) + u' ' + path);
    });
    m_catalog.setImageExists([this](const QString &name) { return m_files.existsAnnotated(name); });

    // ComfyUI ships input/example.png.
    m_files.write(QStringLiteral("input"), QString(), QStringLiteral("example.png"),
                  fakeimages::png(fakeimages::render(QSize(512, 512), 42, 1.0)));
    refreshInputList();
}

FakeComfy::~FakeComfy()
{
    if (m_run)
        m_run->cancel();
    for (Socket *s : std::as_const(m_sockets)) {
        if (s->socket) {
            s->socket->disconnect(this);
            s->socket->abort();
            delete s->socket;
        }
        delete s;
    }
    m_sockets.clear();
}

bool FakeComfy::listen(const QHostAddress &address, quint16 port) { return m_http->listen(address, port); }

void FakeComfy::close()
{
    m_http->close();
    dropWebSockets();
}

bool FakeComfy::isListening() const { return m_http->isListening(); }

quint16 FakeComfy::port() const { return m_http->port(); }

static QString hostForUrl(const QHostAddress &address)
{
    if (address == QHostAddress::Any || address == QHostAddress::AnyIPv4 || address.isNull())
        return QStringLiteral("127.0.0.1");
    if (address == QHostAddress::AnyIPv6)
        return QStringLiteral("::1");
    return address.toString();
}

QUrl FakeComfy::httpUrl() const
{
    QUrl url;
    url.setScheme(QStringLiteral("http"));
    url.setHost(hostForUrl(m_http->address()));
    url.setPort(port());
    url.setPath(m_basePath);
    return url;
}

QUrl FakeComfy::wsUrl() const
{
    QUrl url = httpUrl();
    url.setScheme(QStringLiteral("ws"));
    url.setPath(m_basePath + QStringLiteral("/ws"));
    return url;
}

void FakeComfy::setBasePath(const QString &prefix)
{
    m_basePath = prefix;
    while (m_basePath.endsWith(u'/'))
        m_basePath.chop(1);
    m_http->setWebSocketPaths({m_basePath + QStringLiteral("/ws"), m_basePath + QStringLiteral("/api/ws")});
}

void FakeComfy::addInputImage(const QString &name, const QByteArray &bytes, const QString &subfolder)
{
    m_files.write(QStringLiteral("input"), subfolder, name, bytes);
    refreshInputList();
}

void FakeComfy::refreshInputList() { m_catalog.setInputImages(m_files.topLevelNames(QStringLiteral("input"))); }

// ---- WebSockets -------------------------------------------------------------------------------------

void FakeComfy::onNewWebSocket(QWebSocket *ws)
{
    ws->setParent(this);
    ws->setMaxAllowedIncomingMessageSize(kMaxIncomingMessage);
    QString sid = QUrlQuery(ws->requestUrl()).queryItemValue(QStringLiteral("clientId"), QUrl::FullyDecoded);
    if (sid.isEmpty())
        sid = QUuid::createUuid().toString(QUuid::Id128);
    auto *socket = new Socket{ws, sid};
    m_sockets.append(socket);
    m_registry.insert(sid, ws); // replaces an older socket with the same clientId, which is not closed
    m_featureFlags.insert(sid, OrderedJson::object());
    connect(ws, &QWebSocket::textMessageReceived, this,
            [this, socket](const QString &text) { onTextMessage(socket, text); });
    connect(ws, &QWebSocket::disconnected, this, [this, socket] { onSocketGone(socket); });
    if (m_wsSilent) {
        socket->silent = true;
        m_http->deafen(ws);
    }
    qCDebug(lcFakeComfy) << "websocket connected, sid" << sid;
    emit webSocketConnected(sid);

    OrderedJson status = queueInfo();
    sendEvent(QStringLiteral("status"),
              OrderedJson::object({{QStringLiteral("status"), status}, {QStringLiteral("sid"), sid}}), sid);
    if (m_run && m_run->item().clientId() == sid && !m_lastNode.isEmpty())
        sendEvent(QStringLiteral("executing"), OrderedJson::object({{QStringLiteral("node"), m_lastNode}}), sid);
}

void FakeComfy::onTextMessage(Socket *socket, const QString &text)
{
    if (socket->sawFirstText || socket->silent)
        return;
    const std::optional<OrderedJson> message = OrderedJson::parse(text.toUtf8());
    if (!message || !message->isObject())
        return; // invalid or non-object JSON does not use up the one chance
    socket->sawFirstText = true;
    if (message->value(u"type").toString() != u"feature_flags")
        return;
    m_featureFlags.insert(socket->sid, message->value(u"data"));
    sendEvent(QStringLiteral("feature_flags"), serverFeatures(), socket->sid);
}

void FakeComfy::onSocketGone(Socket *socket)
{
    if (!m_sockets.removeOne(socket))
        return;
    // server.py pops the registry entry by sid, even when it belongs to a newer socket.
    m_registry.remove(socket->sid);
    m_featureFlags.remove(socket->sid);
    const QString sid = socket->sid;
    if (socket->socket) {
        socket->socket->disconnect(this);
        socket->socket->deleteLater();
    }
    delete socket;
    qCDebug(lcFakeComfy) << "websocket gone, sid" << sid;
    emit webSocketDisconnected(sid);
}

QList<QWebSocket *> FakeComfy::targets(const QString &sid) const
{
    QList<QWebSocket *> result;
    const QList<QWebSocket *> candidates
        = sid.isEmpty() ? m_registry.values() : QList<QWebSocket *>{m_registry.value(sid)};
    for (QWebSocket *ws : candidates) {
        if (!ws)
            continue;
        const auto it
            = std::find_if(m_sockets.cbegin(), m_sockets.cend(), [ws](const Socket *s) { return s->socket == ws; });
        if (it != m_sockets.cend() && !(*it)->silent)
            result.append(ws);
    }
    return result;
}

void FakeComfy::sendText(QWebSocket *socket, const QByteArray &text)
{
    if (socket && socket->state() == QAbstractSocket::ConnectedState)
        socket->sendTextMessage(QString::fromUtf8(text));
}

void FakeComfy::sendEvent(const QString &type, const OrderedJson &data, const QString &sid)
{
    const QByteArray text
        = OrderedJson::object({{QStringLiteral("type"), type}, {QStringLiteral("data"), data}}).dump();
    for (QWebSocket *ws : targets(sid))
        sendText(ws, text);
}

void FakeComfy::sendBinary(const QByteArray &frame, const QString &sid)
{
    for (QWebSocket *ws : targets(sid)) {
        if (ws->state() == QAbstractSocket::ConnectedState)
            ws->sendBinaryMessage(frame);
    }
}

bool FakeComfy::supportsPreviewMetadata(const QString &sid) const
{
    const OrderedJson flags = m_featureFlags.value(sid);
    const OrderedJson value = flags.value(u"supports_preview_metadata");
    return value.isBool() && value.toBool();
}

OrderedJson FakeComfy::queueInfo() const
{
    const qint64 remaining = m_pending.size() + (m_run ? 1 : 0);
    return OrderedJson::object(
        {{QStringLiteral("exec_info"), OrderedJson::object({{QStringLiteral("queue_remaining"), remaining}})}});
}

void FakeComfy::broadcastStatus()
{
    sendEvent(QStringLiteral("status"), OrderedJson::object({{QStringLiteral("status"), queueInfo()}}), QString());
}

int FakeComfy::webSocketCount() const { return int(m_sockets.size()); }

QStringList FakeComfy::webSocketClientIds() const
{
    QStringList ids;
    for (const Socket *s : m_sockets)
        ids.append(s->sid);
    return ids;
}

// ---- Queue and execution ------------------------------------------------------------------------------

static bool runsBefore(const FakeQueueItem &a, const FakeQueueItem &b)
{
    const double na = a.number.toDouble(), nb = b.number.toDouble();
    if (na != nb)
        return na < nb;
    if (a.promptId != b.promptId)
        return a.promptId < b.promptId;
    return a.sequence < b.sequence;
}

void FakeComfy::enqueue(FakeQueueItem item)
{
    item.sequence = m_sequence++;
    const QString id = item.promptId;
    m_pending.insert(std::upper_bound(m_pending.begin(), m_pending.end(), item, runsBefore), std::move(item));
    m_accepted.append(id);
    broadcastStatus();
    emit promptQueued(id);
    scheduleWorker();
}

void FakeComfy::scheduleWorker()
{
    if (m_run || m_workerScheduled || m_pending.isEmpty())
        return;
    m_workerScheduled = true;
    QTimer::singleShot(0, this, [this] {
        m_workerScheduled = false;
        startNext();
    });
}

void FakeComfy::startNext()
{
    if (m_run || m_pending.isEmpty())
        return;
    FakeQueueItem item = m_pending.takeFirst();
    const QString id = item.promptId;
    m_interruptFlag = false; // execute_async resets the flag: interrupts sent while idle do nothing
    m_lastNode.clear();
    m_run = new FakeRun(
        *this, m_catalog, m_options, std::move(item), m_cache, std::exchange(m_nextFailure, std::nullopt),
        [this](const FakeRunResult &result) { onRunFinished(result); }, this);
    broadcastStatus(); // PromptQueue.get
    emit promptStarted(id);
    m_run->start();
}

void FakeComfy::onRunFinished(const FakeRunResult &result)
{
    FakeRun *run = m_run;
    const FakeQueueItem &item = run->item();
    const QString id = item.promptId;
    const QString clientId = item.clientId();
    const bool success = result.outcome == FakeRunResult::Outcome::Success;
    const qint64 finishedNs = monotonicNs();
    for (auto a = m_arrivals.rbegin(); a != m_arrivals.rend(); ++a) {
        if (a->promptId == id) {
            a->finishedNs = finishedNs;
            break;
        }
    }

    OrderedJson entry
        = OrderedJson::object({{QStringLiteral("prompt"), item.toJson()},
                               {QStringLiteral("outputs"), result.outputs},
                               {QStringLiteral("status"),
                                OrderedJson::object({{QStringLiteral("status_str"), success ? "success" : "error"},
                                                     {QStringLiteral("completed"), success},
                                                     {QStringLiteral("messages"), result.messages}})},
                               {QStringLiteral("meta"), result.meta}});
    if (!m_history.contains(id)) {
        if (m_historyOrder.size() > kMaxHistory)
            m_history.remove(m_historyOrder.takeFirst());
        m_historyOrder.append(id);
    }
    m_history.insert(id, entry);
    m_cache = result.cache;
    m_run = nullptr;
    m_lastNode.clear();
    run->deleteLater();

    broadcastStatus(); // task_done
    if (!clientId.isEmpty())
        sendEvent(QStringLiteral("executing"),
                  OrderedJson::object({{QStringLiteral("node"), OrderedJson()}, {QStringLiteral("prompt_id"), id}}),
                  clientId);
    const char *outcome
        = success ? "success" : (result.outcome == FakeRunResult::Outcome::Interrupted ? "interrupted" : "error");
    emit promptFinished(id, QString::fromLatin1(outcome));
    scheduleWorker();
}

QString FakeComfy::runningPromptId() const { return m_run ? m_run->item().promptId : QString(); }

QStringList FakeComfy::pendingPromptIds() const
{
    QStringList ids;
    for (const FakeQueueItem &item : m_pending)
        ids.append(item.promptId);
    return ids;
}

QStringList FakeComfy::historyIds() const { return m_historyOrder; }

QJsonObject FakeComfy::historyEntry(const QString &promptId) const
{
    return m_history.value(promptId).toQJson().toObject();
}

// ---- Faults -------------------------------------------------------------------------------------------

void FakeComfy::dropWebSockets()
{
    const QList<Socket *> sockets = m_sockets;
    for (Socket *s : sockets) {
        if (s->socket)
            s->socket->abort();
        onSocketGone(s); // no-op when abort() already emitted disconnected
    }
}

void FakeComfy::restart()
{
    if (m_run) {
        m_run->cancel();
        m_run->deleteLater();
        m_run = nullptr;
    }
    m_pending.clear();
    m_history.clear();
    m_historyOrder.clear();
    m_cache.clear();
    m_number = 0;
    m_interruptFlag = false;
    m_lastNode.clear();
    m_nextFailure.reset();
    m_loadedCheckpoint.clear();            // a new process has no model in memory
    m_files.clear(QStringLiteral("temp")); // ComfyUI empties temp/ at start-up
    dropWebSockets();
    m_registry.clear();
    m_featureFlags.clear();
    m_http->abortHttpConnections();
}

void FakeComfy::setResponseDelay(int ms) { m_http->setResponseDelay(ms); }

int FakeComfy::responseDelay() const { return m_http->responseDelay(); }

void FakeComfy::setStallHttp(bool stall) { m_http->setStall(stall); }

bool FakeComfy::isStallingHttp() const { return m_http->isStalled(); }

void FakeComfy::setControlApiEnabled(bool enabled)
{
    if (enabled == (m_control != nullptr))
        return;
    if (enabled) {
        m_control = new FakeSimControl(*this, this);
    } else {
        delete m_control;
        m_control = nullptr;
    }
    m_http->setControlPrefix(enabled ? FakeSimControl::prefix() : QString());
}

bool FakeComfy::setRefuseConnections(bool refuse) { return m_http->setRefuseConnections(refuse); }

void FakeComfy::setWsSilent(bool silent)
{
    m_wsSilent = silent;
    if (!silent)
        return;
    for (Socket *s : std::as_const(m_sockets)) {
        if (!s->silent && s->socket) {
            s->silent = true;
            m_http->deafen(s->socket);
        }
    }
}

void FakeComfy::failNextPrompt(const QString &nodeId, const QString &message)
{
    m_nextFailure = std::pair{nodeId, message};
}

// ---- Replay -------------------------------------------------------------------------------------------

QByteArray FakeComfy::replayFrameBytes(const CaptureRecord &record)
{
    if (!record.binary.isEmpty())
        return record.binary;
    const QJsonObject line = record.line;
    const int event = line.value(QStringLiteral("event")).toInt();
    const QJsonArray size = line.value(QStringLiteral("image_size")).toArray();
    const QSize imageSize(size.size() == 2 ? size.at(0).toInt() : 512, size.size() == 2 ? size.at(1).toInt() : 512);
    const bool isPng = line.value(QStringLiteral("image_pil_format")).toString() == u"PNG";
    const QImage image = fakeimages::render(imageSize, quint64(record.t * 1000), 0.5);
    const QByteArray encoded = isPng ? fakeimages::png(image) : fakeimages::jpeg(image, 95);
    QByteArray frame(8, '\0');
    qToBigEndian<quint32>(quint32(event), frame.data());
    if (event == 4) {
        const QByteArray meta = line.value(QStringLiteral("metadata_raw")).toString().toUtf8();
        qToBigEndian<quint32>(quint32(meta.size()), frame.data() + 4);
        return frame + meta + encoded;
    }
    if (event == 1) {
        qToBigEndian<quint32>(isPng ? 2u : 1u, frame.data() + 4);
        return frame + encoded;
    }
    return {};
}

void FakeComfy::sendReplayFrame(const CaptureRecord &record, const QString &toClientId)
{
    const QByteArray frame = record.isBinary() ? replayFrameBytes(record) : QByteArray();
    for (const Socket *s : std::as_const(m_sockets)) {
        if (!s->socket || s->silent || (!toClientId.isEmpty() && s->sid != toClientId))
            continue;
        if (record.isText())
            sendText(s->socket, record.text);
        else if (!frame.isEmpty() && s->socket->state() == QAbstractSocket::ConnectedState)
            s->socket->sendBinaryMessage(frame);
    }
}

int FakeComfy::replayCapture(const Capture &capture, const QString &conn, const QString &toClientId,
                             ReplayPacing pacing)
{
    const QList<CaptureRecord> frames = capture.wsIn(conn);
    int count = 0;
    const double t0 = frames.isEmpty() ? 0 : frames.first().t;
    for (const CaptureRecord &record : frames) {
        const int event = record.line.value(QStringLiteral("event")).toInt();
        const bool rebuildable = record.isBinary() && (!record.binary.isEmpty() || event == 1 || event == 4);
        if (!record.isText() && !rebuildable)
            continue;
        ++count;
        if (pacing == ReplayPacing::Immediate)
            sendReplayFrame(record, toClientId);
        else
            QTimer::singleShot(int((record.t - t0) * 1000), this,
                               [this, record, toClientId] { sendReplayFrame(record, toClientId); });
    }
    return count;
}

} // namespace cr::sim
