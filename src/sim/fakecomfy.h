#pragma once
// A fake ComfyUI 0.8 for tests, benchmarks and demos: HTTP and WebSocket on one port, shaped like the
// recorded captures (validation errors, queue/history, /view, uploads, event order, preview frames, reconnect
// hints, the clientId registry quirks), simulated execution on QTimers, fault injection and capture replay.
//
// Runtime-error rules (besides failNextPrompt): CheckpointLoaderSimple with ckpt_name
// "broken_ckpt.safetensors" raises SafetensorError (capture D2); LatentUpscaleBy to a zero size raises
// RuntimeError (capture D1); any node with a string input containing "__fail__" raises RuntimeError.

#include "sim/fakecomfyoptions.h"
#include "sim/fakefilestore.h"
#include "sim/fakenodecatalog.h"
#include "sim/fakerun.h"
#include "sim/orderedjson.h"

#include <QHostAddress>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QUrl>

class QWebSocket;

namespace cr::sim {

class FakeHttpServer;
class FakeSimControl;
struct FakeHttpRequest;
struct FakeHttpResponse;
struct Capture;
struct CaptureRecord;

class FakeComfy final : public QObject, private FakeRunHost
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(FakeComfy)

public:
    explicit FakeComfy(QObject *parent = nullptr);
    explicit FakeComfy(const FakeComfyOptions &options, QObject *parent = nullptr);
    ~FakeComfy() override;

    bool listen(const QHostAddress &address = QHostAddress::LocalHost, quint16 port = 0);
    void close();
    bool isListening() const;
    quint16 port() const;
    QUrl httpUrl() const; // http://127.0.0.1:PORT (no trailing slash)
    QUrl wsUrl() const;   // ws://127.0.0.1:PORT/ws (add ?clientId=...)

    // Options (apply to prompts started afterwards).
    FakeComfyOptions options() const { return m_options; }
    void setOptions(const FakeComfyOptions &options) { m_options = options; }
    void setSteps(int steps) { m_options.steps = steps; }
    void setStepIntervalMs(int ms) { m_options.stepIntervalMs = ms; }
    void setNodeDelayMs(int ms) { m_options.nodeDelayMs = ms; }
    void setPreviewSize(int pixels) { m_options.previewSize = pixels; }
    void setPreviewsEnabled(bool enabled) { m_options.previews = enabled; }
    void setOutputSize(QSize size) { m_options.outputSize = size; }
    void setCheckpoints(const QStringList &names) { m_catalog.setCheckpoints(names); }
    // The files of a model folder (GET /models/{folder}, the loaders' combo lists, validation); false for a
    // folder ComfyUI does not have (FakeNodeCatalog::modelFolders()).
    bool setModels(const QString &folder, const QStringList &names) { return m_catalog.setModels(folder, names); }
    QStringList models(const QString &folder) const { return m_catalog.models(folder); }
    void setModelLoadMs(int ms) { m_options.modelLoadMs = ms; }
    void setName(const QString &name) { m_options.name = name; }
    void setViewRanges(bool honoured) { m_options.viewRanges = honoured; }
    void setModernApi(bool modern) { m_options.modernApi = modern; }
    // What GET /node_replacements answers in modern mode (ComfyUI's shape: {old class: [{new_node_id, ...}]}).
    void setNodeReplacements(const OrderedJson &table) { m_nodeReplacements = table; }
    QString name() const { return m_options.name; }
    // The checkpoint in (simulated) GPU memory: the one the last loader loaded; "" before the first load,
    // after restart() and after POST /free {"unload_models": true}.
    QString loadedCheckpoint() const override { return m_loadedCheckpoint; }
    int modelLoads() const { return m_modelLoads; } // checkpoint loads that cost modelLoadMs (a switch or the first)
    // The simulator's control API under /sim/ on the same port (fakesimcontrol.h): faults and state for
    // processes that cannot call C++ (comfy-sim turns it on). Off by default: then /sim/ is a 404 as in ComfyUI.
    void setControlApiEnabled(bool enabled);
    // Serves everything under this prefix ("/comfy": /comfy/prompt, /comfy/ws, ...), as ComfyUI behind a
    // reverse proxy; other paths get 404. httpUrl() and wsUrl() include it.
    void setBasePath(const QString &prefix);
    void setMaxStoredFiles(int count) { m_files.setMaxFiles(count); } // per output/ and temp/ (default 1000)
    // Puts a file into input/ (as an upload with overwrite would), e.g. for LoadImage.
    void addInputImage(const QString &name, const QByteArray &bytes, const QString &subfolder = {});

    // Fault injection.
    void dropWebSockets();                  // abort every WebSocket (no close frame), mid-run too
    void restart();                         // forget queue, history, cache and temp files; drop all
                                            // connections; the prompt counter restarts at 0; same port
    void setResponseDelay(int ms);          // every HTTP answer comes this much later
    void setStallHttp(bool stall);          // accept HTTP requests but never answer them (WebSocket
                                            // upgrades still work; stalled requests stay unanswered)
    bool setRefuseConnections(bool refuse); // stop listening / listen again on the same port
    void setWsSilent(bool silent);          // half-open: stop sending to every WebSocket (and to new ones)
                                            // and stop reading them, so pings go unanswered; a silenced
                                            // socket stays deaf until dropped, restart() or the client closes
    void failNextPrompt(const QString &nodeId = {}, const QString &message = QStringLiteral("Simulated failure"));
    // The faults' current state.
    bool isStallingHttp() const;
    bool isWsSilent() const { return m_wsSilent; }
    int responseDelay() const;
    bool isFailureArmed() const { return m_nextFailure.has_value(); }

    // Sends every ws_in frame of a capture (optionally one connection's) to the connected clients (or to the
    // sockets of one clientId), in order: text byte-identical, binary from the .bin bytes (frames the
    // recorder did not keep are rebuilt with their recorded header and a generated image). Immediately, or
    // paced with the recorded timing (then the targets are looked up when each frame is due).
    // Returns the number of frames sent (or scheduled).
    enum class ReplayPacing { Immediate, Recorded };
    int replayCapture(const Capture &capture, const QString &conn = {}, const QString &toClientId = {},
                      ReplayPacing pacing = ReplayPacing::Immediate);
    static QByteArray replayFrameBytes(const CaptureRecord &record); // the binary frame a record stands for

    // Introspection.
    int promptCount() const { return int(m_promptBodies.size()); }     // POST /prompt requests received
    QList<QJsonObject> promptBodies() const { return m_promptBodies; } // parsed bodies (empty when not JSON)
    // The newest POST /prompt requests (up to 1000): when each was handled, on CLOCK_MONOTONIC (one clock for
    // every process on the machine, so a benchmark can compare it with its own send time).
    struct PromptArrival {
        QString promptId; // "" when refused before an id was known
        qint64 monotonicNs = 0;
        int status = 0;        // the answer's status
        qint64 finishedNs = 0; // when its run ended (CLOCK_MONOTONIC; 0 while it has not)
    };
    static qint64 monotonicNs(); // CLOCK_MONOTONIC in nanoseconds
    QList<PromptArrival> promptArrivals() const { return m_arrivals; }
    QJsonObject lastPromptBody() const { return m_promptBodies.isEmpty() ? QJsonObject() : m_promptBodies.last(); }
    QStringList acceptedPromptIds() const { return m_accepted; }   // queued prompts, in order
    QStringList interruptRequests() const { return m_interrupts; } // prompt_id per POST /interrupt ("" = global)
    QStringList deleteRequests() const { return m_deletes; }       // ids named by POST /queue {"delete"}
    QStringList jobCancelRequests() const { return m_jobCancels; } // ids of POST /api/jobs/{id}/cancel (modern)
    int clearRequests() const { return m_clears; }                 // POST /queue {"clear": true}
    int webSocketCount() const;                                    // open sockets (replaced ones included)
    QStringList webSocketClientIds() const;                        // sids of the open sockets
    QString runningPromptId() const;
    QStringList pendingPromptIds() const; // in execution order
    QStringList historyIds() const;       // completion order
    QJsonObject historyEntry(const QString &promptId) const;
    const FakeFileStore &files() const { return m_files; }
    QStringList requestLog() const { return m_requestLog; }       // "METHOD /path" of every answered request
    QList<QByteArray> viewRanges() const { return m_viewRanges; } // the Range header of every /view ("" for none)

signals:
    void promptQueued(const QString &promptId);
    void promptStarted(const QString &promptId);
    void promptFinished(const QString &promptId, const QString &outcome); // "success" | "error" | "interrupted"
    void webSocketConnected(const QString &clientId);
    void webSocketDisconnected(const QString &clientId);
    void interruptReceived(const QString &promptId); // "" = global

private:
    struct Socket {
        QPointer<QWebSocket> socket;
        QString sid;
        bool sawFirstText = false;
        bool silent = false;
    };

    // FakeRunHost
    void sendEvent(const QString &type, const OrderedJson &data, const QString &sid) override;
    void sendBinary(const QByteArray &frame, const QString &sid) override;
    bool supportsPreviewMetadata(const QString &sid) const override;
    void setExecutingNode(const QString &displayNodeId) override { m_lastNode = displayNodeId; }
    bool interruptRequested() const override { return m_interruptFlag; }
    FakeFileStore &files() override { return m_files; }
    void setLoadedCheckpoint(const QString &name, bool loaded) override
    {
        m_loadedCheckpoint = name;
        m_modelLoads += loaded ? 1 : 0;
    }

    // WebSocket registry (server.py: websocket_handler).
    void onNewWebSocket(QWebSocket *socket);
    void onTextMessage(Socket *socket, const QString &text);
    void onSocketGone(Socket *socket);
    void sendText(QWebSocket *socket, const QByteArray &text);
    void sendReplayFrame(const CaptureRecord &record, const QString &toClientId);
    QList<QWebSocket *> targets(const QString &sid) const; // "" = every registered socket
    void broadcastStatus();
    OrderedJson queueInfo() const;

    // Queue and execution (main.py: prompt_worker, execution.py: PromptQueue).
    void enqueue(FakeQueueItem item);
    void scheduleWorker();
    void startNext();
    void onRunFinished(const FakeRunResult &result);

    // HTTP (fakecomfyhttp.cpp; /view and /upload/image in fakecomfyfiles.cpp).
    FakeHttpResponse handle(const FakeHttpRequest &request);
    std::optional<FakeHttpResponse> checkOrigin(const FakeHttpRequest &request) const;
    FakeHttpResponse postPrompt(const FakeHttpRequest &request);
    FakeHttpResponse getQueue() const;
    FakeHttpResponse postQueue(const FakeHttpRequest &request);
    FakeHttpResponse postInterrupt(const FakeHttpRequest &request);
    FakeHttpResponse getHistory(const FakeHttpRequest &request) const;
    FakeHttpResponse postHistory(const FakeHttpRequest &request);
    FakeHttpResponse getView(const FakeHttpRequest &request) const;
    static void applyRange(const QByteArray &header, FakeHttpResponse &response);
    OrderedJson serverFeatures() const;
    FakeHttpResponse postJobCancel(const QString &promptId);
    static bool isCanonicalUuid(const QString &id);
    FakeHttpResponse postUpload(const FakeHttpRequest &request);
    FakeHttpResponse getSystemStats() const;
    void refreshInputList();
    static bool pyTruthyFlag(const OrderedJson &value);

    FakeComfyOptions m_options;
    FakeHttpServer *m_http = nullptr;
    FakeNodeCatalog m_catalog;
    FakeFileStore m_files;
    QList<Socket *> m_sockets;
    QHash<QString, QWebSocket *> m_registry;    // sid -> socket (the newest wins)
    QHash<QString, OrderedJson> m_featureFlags; // sid -> the flags it sent
    bool m_wsSilent = false;
    QString m_basePath;                  // "" or "/prefix"
    FakeSimControl *m_control = nullptr; // the /sim/ API when enabled
    QString m_loadedCheckpoint;
    int m_modelLoads = 0;
    QList<PromptArrival> m_arrivals;

    QList<FakeQueueItem> m_pending;
    FakeRun *m_run = nullptr;
    bool m_workerScheduled = false;
    bool m_interruptFlag = false;
    QString m_lastNode;
    qint64 m_number = 0;
    qint64 m_sequence = 0;
    FakeCache m_cache;
    std::optional<std::pair<QString, QString>> m_nextFailure;
    QStringList m_historyOrder;
    QHash<QString, OrderedJson> m_history;

    QList<QJsonObject> m_promptBodies;
    QStringList m_accepted;
    QStringList m_interrupts;
    QStringList m_deletes;
    QStringList m_jobCancels;
    OrderedJson m_nodeReplacements = OrderedJson::object();
    int m_clears = 0;
    QStringList m_requestLog;
    mutable QList<QByteArray> m_viewRanges;
};

} // namespace cr::sim
