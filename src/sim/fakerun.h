#pragma once
// One prompt executing in the fake ComfyUI, node by node on QTimers, emitting exactly the frames ComfyUI 0.8
// emits (protocol doc §3.5): execution_start/cached, per node progress_state + executing, sampler steps
// (progress_state, preview, progress), executed for UI outputs, then success, error or interrupt
// (fakerun.cpp: the run; fakerunoutputs.cpp: what its output nodes write and report).

#include "sim/fakecomfyoptions.h"
#include "sim/fakegraph.h"
#include "sim/orderedjson.h"

#include <QHash>
#include <QImage>
#include <QObject>
#include <QSet>
#include <QTimer>

#include <functional>
#include <optional>

namespace cr::sim {

class FakeFileStore;
class FakeNodeCatalog;

// A queued prompt: ComfyUI's (number, prompt_id, prompt, extra_data, outputs_to_execute) tuple.
struct FakeQueueItem {
    OrderedJson number; // int, or float when the client sent "number"
    QString promptId;
    OrderedJson prompt; // after validation coercion
    OrderedJson extraData;
    QStringList outputs; // outputs_to_execute
    qint64 sequence = 0; // arrival order (ties)

    QString clientId() const
    {
        return extraData.value(u"client_id").isString() ? extraData.value(u"client_id").toString() : QString();
    }
    OrderedJson toJson() const; // the 5-element array of /queue and history
};

// The execution cache ("classic"): node signature -> the UI output it produced (null when none).
using FakeCache = QHash<QByteArray, OrderedJson>;

// What the fake server provides to a run.
class FakeRunHost
{
public:
    virtual ~FakeRunHost() = default;
    virtual void sendEvent(const QString &type, const OrderedJson &data, const QString &sid) = 0; // "" = broadcast
    virtual void sendBinary(const QByteArray &frame, const QString &sid) = 0;
    virtual bool supportsPreviewMetadata(const QString &sid) const = 0;
    virtual void setExecutingNode(const QString &displayNodeId) = 0; // for the reconnect hint
    virtual bool interruptRequested() const = 0;
    virtual FakeFileStore &files() = 0;
    virtual QString loadedCheckpoint() const = 0; // "" when none (before the first load, after a restart)
    // `loaded`: the run paid for loading it (modelLoadMs); false for a cached loader's model.
    virtual void setLoadedCheckpoint(const QString &name, bool loaded) = 0;
};

struct FakeRunResult {
    enum class Outcome { Success, Error, Interrupted };
    Outcome outcome = Outcome::Success;
    OrderedJson outputs = OrderedJson::object();
    OrderedJson meta = OrderedJson::object();
    OrderedJson messages = OrderedJson::array();
    FakeCache cache; // the cache after this run
};

class FakeRun final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(FakeRun)

public:
    // failure: make node `first` (any real node when empty) raise RuntimeError(`second`).
    FakeRun(FakeRunHost &host, const FakeNodeCatalog &catalog, const FakeComfyOptions &options, FakeQueueItem item,
            const FakeCache &cache, std::optional<std::pair<QString, QString>> failure,
            std::function<void(const FakeRunResult &)> onFinished, QObject *parent = nullptr);

    void start();
    void wake();   // an interrupt arrived: run the pending step now so it is noticed at once
    void cancel(); // stop silently (server restart)
    const FakeQueueItem &item() const { return m_item; }
    QString currentNode() const { return m_current; }

private:
    void schedule(int ms, void (FakeRun::*step)());
    void addMessage(const QString &event, OrderedJson data, bool broadcast);
    void sendProgressState();
    void nextNode();
    void startNode();
    void samplerStep();
    void saveWebsocketImages();
    void finishNode();
    void sendExecuted(const QString &id, const OrderedJson &ui);
    void recordOutput(const QString &id, const OrderedJson &ui);
    void failNode(const QString &exceptionType, const QString &message, const QStringList &frames);
    void interrupted();
    void finish(FakeRunResult::Outcome outcome);

    std::optional<std::pair<QString, QString>> runtimeErrorFor(const QString &nodeId) const;
    bool previewsEnabled() const;
    OrderedJson saveImages(const QString &type, const QString &prefix);
    // The UI output of one of the simulator's own output nodes (Sim*: fakerunmedia.cpp); null for other classes.
    OrderedJson simMediaOutput(const QString &cls);

    FakeRunHost &m_host;
    const FakeNodeCatalog &m_catalog;
    FakeComfyOptions m_options;
    FakeQueueItem m_item;
    FakeGraph m_graph; // over m_item.prompt
    FakeCache m_oldCache;
    std::optional<std::pair<QString, QString>> m_failure;
    std::function<void(const FakeRunResult &)> m_onFinished;
    QString m_clientId;
    QTimer m_timer;
    void (FakeRun::*m_pending)() = nullptr;
    bool m_done = false;

    QStringList m_order;         // nodes to run, in order
    QSet<QString> m_cachedNodes; // nodes whose output comes from the cache
    qsizetype m_index = 0;
    QString m_current;
    QString m_loading; // the checkpoint the current node loads ("" when it loads none)
    int m_step = 0;
    int m_steps = 0;
    OrderedJson m_progress = OrderedJson::object(); // progress_state "nodes"
    QStringList m_executed;
    FakeRunResult m_result;
};

} // namespace cr::sim
