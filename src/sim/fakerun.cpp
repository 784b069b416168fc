#include "sim/fakerun.h"

#include "protocol/binaryframe.h"
#include "sim/fakefilestore.h"
#include "sim/fakegraph.h"
#include "sim/fakeimages.h"
#include "sim/fakenodecatalog.h"

#include <QDateTime>
#include <QRandomGenerator>

#include <cmath>

namespace cr::sim {

namespace {

namespace proto = cr::protocol;

const QStringList kExecuteFrames{
    QStringLiteral(
        "  File \"/srv/comfyui/execution.py\", line 518, in execute\n    output_data, output_ui, has_subgraph, "
        "has_pending_tasks = await get_output_data(prompt_id, unique_id, obj, input_data_all, "
        "execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, v3_data=v3_data)\n"),
    QStringLiteral(
        "  File \"/srv/comfyui/execution.py\", line 329, in get_output_data\n    return_values = await "
        "_async_map_node_over_list(prompt_id, unique_id, obj, input_data_all, obj.FUNCTION, allow_interrupt=True, "
        "execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, v3_data=v3_data)\n"),
    QStringLiteral("  File \"/srv/comfyui/execution.py\", line 303, in _async_map_node_over_list\n    await "
                   "process_inputs(input_dict, i)\n"),
    QStringLiteral("  File \"/srv/comfyui/execution.py\", line 291, in process_inputs\n    result = f(**inputs)\n"),
};

qint64 nowMs() { return QDateTime::currentMSecsSinceEpoch(); }

} // namespace

OrderedJson FakeQueueItem::toJson() const
{
    return OrderedJson::array({number, promptId, prompt, extraData, OrderedJson::fromStrings(outputs)});
}

FakeRun::FakeRun(FakeRunHost &host, const FakeNodeCatalog &catalog, const FakeComfyOptions &options, FakeQueueItem item,
                 const FakeCache &cache, std::optional<std::pair<QString, QString>> failure,
                 std::function<void(const FakeRunResult &)> onFinished, QObject *parent)
    : QObject(parent), m_host(host), m_catalog(catalog), m_options(options), m_item(std::move(item)),
      m_graph(m_item.prompt, catalog, host.files(), options.outputSize), m_oldCache(cache),
      m_failure(std::move(failure)), m_onFinished(std::move(onFinished))
{
    m_timer.setSingleShot(true);
    m_timer.setTimerType(Qt::PreciseTimer); // a coarse timer may fire 5 % early: a 2 s model load in 1.9 s
    connect(&m_timer, &QTimer::timeout, this, [this] {
        if (m_done || !m_pending)
            return;
        auto step = std::exchange(m_pending, nullptr);
        (this->*step)();
    });
}

void FakeRun::schedule(int ms, void (FakeRun::*step)())
{
    m_pending = step;
    m_timer.start(qMax(0, ms));
}

void FakeRun::wake()
{
    // A model load runs to its end: ComfyUI notices an interrupt only between nodes and at sampler steps.
    if (!m_done && m_timer.isActive() && m_loading.isEmpty())
        m_timer.start(0);
}

void FakeRun::cancel()
{
    m_done = true;
    m_timer.stop();
}

void FakeRun::addMessage(const QString &event, OrderedJson data, bool broadcast)
{
    data.insert(QStringLiteral("timestamp"), nowMs());
    m_result.messages.append(OrderedJson::array({event, data}));
    if (!m_clientId.isEmpty() || broadcast)
        m_host.sendEvent(event, data, m_clientId);
}

void FakeRun::sendProgressState()
{
    m_host.sendEvent(
        QStringLiteral("progress_state"),
        OrderedJson::object({{QStringLiteral("prompt_id"), m_item.promptId}, {QStringLiteral("nodes"), m_progress}}),
        m_clientId);
}

void FakeRun::start()
{
    m_clientId = m_item.clientId();
    addMessage(QStringLiteral("execution_start"), OrderedJson::object({{QStringLiteral("prompt_id"), m_item.promptId}}),
               false);

    const QStringList nodeIds = m_item.prompt.keys();
    QStringList cached;
    for (const QString &id : nodeIds) {
        const QByteArray sig = m_graph.signature(id);
        if (m_oldCache.contains(sig)) {
            cached.append(id);
            m_cachedNodes.insert(id);
            m_result.cache.insert(sig, m_oldCache.value(sig));
            const OrderedJson ckpt = m_graph.input(id, QStringLiteral("ckpt_name"));
            if (ckpt.isString()) // a cached loader's model is the one in memory, at no cost
                m_host.setLoadedCheckpoint(ckpt.toString(), false);
        }
    }
    addMessage(QStringLiteral("execution_cached"),
               OrderedJson::object({{QStringLiteral("nodes"), OrderedJson::fromStrings(cached)},
                                    {QStringLiteral("prompt_id"), m_item.promptId}}),
               false);

    // The execution order of ComfyUI's ExecutionList: nodes staged depth-first with a stack from each output
    // (inputs of cached nodes are not needed), then repeatedly the "UX friendly" pick among the ready nodes.
    QStringList pending;
    QHash<QString, QStringList> blocking; // node -> nodes waiting for it
    QHash<QString, int> blockCount;
    std::function<void(const QString &)> addNode = [&](const QString &root) {
        QStringList stack{root};
        QList<std::pair<QString, QString>> links;
        while (!stack.isEmpty()) {
            const QString id = stack.takeLast();
            if (pending.contains(id) || !m_item.prompt.contains(id))
                continue;
            pending.append(id);
            blockCount.insert(id, 0);
            for (const OrderedJson::Member &in : m_item.prompt.value(id).value(u"inputs").members()) {
                if (!(in.second.isArray() && in.second.size() == 2 && in.second.at(0).isString()))
                    continue;
                const QString from = in.second.at(0).toString();
                if (!m_cachedNodes.contains(from))
                    stack.append(from);
                links.append({from, id});
            }
        }
        for (const auto &[from, to] : std::as_const(links)) {
            if (m_cachedNodes.contains(from) || !m_item.prompt.contains(from))
                continue;
            addNode(from);
            if (!blocking[from].contains(to)) {
                blocking[from].append(to);
                ++blockCount[to];
            }
        }
    };
    for (const QString &output : std::as_const(m_item.outputs))
        addNode(output);
    auto isOutput = [this](const QString &id) { return m_catalog.isOutputNode(m_graph.classOf(id)); };
    while (!pending.isEmpty()) {
        QStringList ready;
        for (const QString &id : std::as_const(pending)) {
            if (blockCount.value(id) == 0)
                ready.append(id);
        }
        if (ready.isEmpty()) { // a dependency cycle: run the rest in staging order
            m_order += pending;
            break;
        }
        QString pick;
        for (const QString &id : std::as_const(ready)) {
            if (pick.isEmpty() && isOutput(id))
                pick = id;
        }
        for (const QString &id : std::as_const(ready)) { // VAEDecode -> preview
            for (const QString &blocked : blocking.value(id))
                if (pick.isEmpty() && isOutput(blocked))
                    pick = id;
        }
        for (const QString &id : std::as_const(ready)) { // VAELoader -> VAEDecode -> preview
            for (const QString &blocked : blocking.value(id))
                for (const QString &next : blocking.value(blocked))
                    if (pick.isEmpty() && isOutput(next))
                        pick = id;
        }
        if (pick.isEmpty())
            pick = ready.first();
        m_order.append(pick);
        pending.removeOne(pick);
        for (const QString &blocked : blocking.value(pick))
            --blockCount[blocked];
    }
    schedule(0, &FakeRun::nextNode);
}

void FakeRun::nextNode()
{
    if (m_index >= m_order.size()) {
        m_current.clear();
        addMessage(QStringLiteral("execution_success"),
                   OrderedJson::object({{QStringLiteral("prompt_id"), m_item.promptId}}), false);
        finish(FakeRunResult::Outcome::Success);
        return;
    }
    m_current = m_order.at(m_index++);
    if (!m_cachedNodes.contains(m_current)) {
        startNode();
        return;
    }
    // An output node served from the cache: its old UI output, no executing, no new files.
    const OrderedJson ui = m_oldCache.value(m_graph.signature(m_current));
    if (!m_clientId.isEmpty()) {
        sendExecuted(m_current, ui);
        if (!ui.isNull()) // ComfyUI's quirk: cached outputs reach history only with a client_id
            recordOutput(m_current, ui);
    }
    OrderedJson *entry = m_progress.find(m_current);
    if (!entry) {
        entry = &m_progress.insert(m_current,
                                   OrderedJson::object({{QStringLiteral("value"), 1},
                                                        {QStringLiteral("max"), 1},
                                                        {QStringLiteral("state"), "finished"},
                                                        {QStringLiteral("node_id"), m_current},
                                                        {QStringLiteral("prompt_id"), m_item.promptId},
                                                        {QStringLiteral("display_node_id"), m_current},
                                                        {QStringLiteral("parent_node_id"), OrderedJson()},
                                                        {QStringLiteral("real_node_id"), m_current}}));
    }
    entry->insert(QStringLiteral("state"), "finished");
    sendProgressState();
    schedule(0, &FakeRun::nextNode);
}

void FakeRun::startNode()
{
    const QString id = m_current;
    m_progress.insert(id,
                      OrderedJson::object({{QStringLiteral("value"), 0.0},
                                           {QStringLiteral("max"), 1.0},
                                           {QStringLiteral("state"), "running"},
                                           {QStringLiteral("node_id"), id},
                                           {QStringLiteral("prompt_id"), m_item.promptId},
                                           {QStringLiteral("display_node_id"), id},
                                           {QStringLiteral("parent_node_id"), OrderedJson()},
                                           {QStringLiteral("real_node_id"), id}}));
    sendProgressState();
    if (!m_clientId.isEmpty()) {
        m_host.setExecutingNode(id);
        m_host.sendEvent(QStringLiteral("executing"),
                         OrderedJson::object({{QStringLiteral("node"), id},
                                              {QStringLiteral("display_node"), id},
                                              {QStringLiteral("prompt_id"), m_item.promptId}}),
                         m_clientId);
    }
    if (m_host.interruptRequested()) { // nodes.before_node_execution
        interrupted();
        return;
    }
    if (const auto error = runtimeErrorFor(id)) {
        const QString cls = m_graph.classOf(id);
        QStringList frames = kExecuteFrames;
        frames.append(
            QStringLiteral("  File \"/srv/comfyui/nodes.py\", line 1, in %1\n    (simulated by the fake ComfyUI)\n")
                .arg(cls));
        failNode(error->first, error->second, frames);
        return;
    }
    const QString cls = m_graph.classOf(id);
    if (FakeGraph::isSampler(cls)) {
        int steps = int(m_graph.input(id, QStringLiteral("steps")).toInt());
        if (cls == u"KSamplerAdvanced") {
            const int start = int(m_graph.input(id, QStringLiteral("start_at_step")).toInt());
            const OrderedJson end = m_graph.input(id, QStringLiteral("end_at_step"));
            steps = (end.isNumber() ? qMin(steps, int(end.toInt())) : steps) - start;
        }
        m_steps = qMax(1, m_options.steps > 0 ? m_options.steps : steps);
        m_step = 0;
        schedule(m_options.stepIntervalMs, &FakeRun::samplerStep);
    } else if (cls == u"SaveImageWebsocket") {
        schedule(m_options.nodeDelayMs, &FakeRun::saveWebsocketImages);
    } else {
        int ms = m_options.nodeDelayMs;
        const OrderedJson ckpt = m_graph.input(id, QStringLiteral("ckpt_name"));
        if (ckpt.isString() && ckpt.toString() != m_host.loadedCheckpoint()) { // a model switch
            m_loading = ckpt.toString();
            ms += m_options.modelLoadMs;
        }
        schedule(ms, &FakeRun::finishNode);
    }
}

void FakeRun::samplerStep()
{
    if (m_host.interruptRequested()) { // checked at every progress-bar update
        interrupted();
        return;
    }
    ++m_step;
    OrderedJson *entry = m_progress.find(m_current);
    entry->insert(QStringLiteral("value"), m_step);
    entry->insert(QStringLiteral("max"), m_steps);
    sendProgressState();

    const bool previews = previewsEnabled();
    const bool withMetadata = !m_clientId.isEmpty() && m_host.supportsPreviewMetadata(m_clientId);
    QByteArray jpeg;
    if (previews) {
        const FakeGraph::Shape shape = m_graph.latentShape(m_current);
        const QSize size = fakeimages::previewSize(m_options.outputSize.isValid() ? m_options.outputSize : shape.size,
                                                   m_options.previewSize);
        jpeg = fakeimages::jpeg(fakeimages::render(size, shape.seed, double(m_step) / m_steps),
                                m_options.previewQuality);
    }
    if (previews && withMetadata) {
        const proto::PreviewMetadata meta{m_current, m_item.promptId, m_current, QString(), m_current};
        m_host.sendBinary(proto::encodePreviewType4(meta, proto::ImageFormat::Jpeg, jpeg), m_clientId);
    }
    m_host.sendEvent(QStringLiteral("progress"),
                     OrderedJson::object({{QStringLiteral("value"), m_step},
                                          {QStringLiteral("max"), m_steps},
                                          {QStringLiteral("prompt_id"), m_item.promptId},
                                          {QStringLiteral("node"), m_current}}),
                     m_clientId);
    if (previews && !withMetadata)
        m_host.sendBinary(proto::encodePreviewType1(proto::ImageFormat::Jpeg, jpeg), m_clientId);

    if (m_step < m_steps)
        schedule(m_options.stepIntervalMs, &FakeRun::samplerStep);
    else
        finishNode();
}

void FakeRun::finishNode()
{
    const QString id = m_current;
    const QString cls = m_graph.classOf(id);
    OrderedJson ui;
    if (cls == u"SaveImage") {
        const OrderedJson prefix = m_graph.input(id, QStringLiteral("filename_prefix"));
        ui = OrderedJson::object({{QStringLiteral("images"),
                                   saveImages(QStringLiteral("output"),
                                              prefix.isString() ? prefix.toString() : QStringLiteral("ComfyUI"))}});
    } else if (cls == u"PreviewImage") {
        static const char letters[] = "abcdefghijklmnopqrstupvxyz"; // sic, as in nodes.py
        QString suffix;
        for (int i = 0; i < 5; ++i)
            suffix += QLatin1Char(letters[QRandomGenerator::global()->bounded(26)]);
        ui = OrderedJson::object(
            {{QStringLiteral("images"), saveImages(QStringLiteral("temp"), QStringLiteral("ComfyUI_temp_") + suffix)}});
    } else if (cls == u"SaveLatent") {
        const FakeFileStore::SaveTarget target = m_host.files().saveTarget(
            QStringLiteral("output"), m_graph.input(id, QStringLiteral("filename_prefix")).toString());
        const QString name
            = QStringLiteral("%1_%2_.latent").arg(target.prefix).arg(target.counter, 5, 10, QLatin1Char('0'));
        m_host.files().write(QStringLiteral("output"), target.subfolder, name, QByteArray("fake latent"));
        ui = OrderedJson::object(
            {{QStringLiteral("latents"),
              OrderedJson::array({OrderedJson::object({{QStringLiteral("filename"), name},
                                                       {QStringLiteral("subfolder"), target.subfolder},
                                                       {QStringLiteral("type"), "output"}})})}});
    }
    if (ui.isNull())
        ui = simMediaOutput(cls);
    if (!ui.isNull()) {
        if (!m_clientId.isEmpty())
            sendExecuted(id, ui);
        recordOutput(id, ui);
    }
    OrderedJson *entry = m_progress.find(id);
    entry->insert(QStringLiteral("state"), "finished");
    entry->insert(QStringLiteral("value"), entry->value(u"max"));
    sendProgressState();
    if (!m_loading.isEmpty())
        m_host.setLoadedCheckpoint(std::exchange(m_loading, QString()), true);
    m_executed.append(id);
    m_result.cache.insert(m_graph.signature(id), ui);
    schedule(0, &FakeRun::nextNode);
}

void FakeRun::failNode(const QString &exceptionType, const QString &message, const QStringList &frames)
{
    OrderedJson data
        = OrderedJson::object({{QStringLiteral("prompt_id"), m_item.promptId},
                               {QStringLiteral("node_id"), m_current},
                               {QStringLiteral("node_type"), m_graph.classOf(m_current)},
                               {QStringLiteral("executed"), OrderedJson::fromStrings(m_executed)},
                               {QStringLiteral("exception_message"), message + u'\n'},
                               {QStringLiteral("exception_type"), exceptionType},
                               {QStringLiteral("traceback"), OrderedJson::fromStrings(frames)},
                               {QStringLiteral("current_inputs"), m_graph.currentInputs(m_current)},
                               {QStringLiteral("current_outputs"), OrderedJson::fromStrings(m_item.prompt.keys())}});
    addMessage(QStringLiteral("execution_error"), std::move(data), false);
    finish(FakeRunResult::Outcome::Error);
}

void FakeRun::interrupted()
{
    addMessage(QStringLiteral("execution_interrupted"),
               OrderedJson::object({{QStringLiteral("prompt_id"), m_item.promptId},
                                    {QStringLiteral("node_id"), m_current},
                                    {QStringLiteral("node_type"), m_graph.classOf(m_current)},
                                    {QStringLiteral("executed"), OrderedJson::fromStrings(m_executed)}}),
               true);
    finish(FakeRunResult::Outcome::Interrupted);
}

void FakeRun::finish(FakeRunResult::Outcome outcome)
{
    m_done = true;
    m_timer.stop();
    m_result.outcome = outcome;
    if (m_onFinished)
        m_onFinished(m_result);
}

std::optional<std::pair<QString, QString>> FakeRun::runtimeErrorFor(const QString &nodeId) const
{
    const QString cls = m_graph.classOf(nodeId);
    if (m_failure && (m_failure->first.isEmpty() || m_failure->first == nodeId))
        return std::pair{QStringLiteral("RuntimeError"), m_failure->second};
    if (cls == u"CheckpointLoaderSimple"
        && m_graph.input(nodeId, QStringLiteral("ckpt_name")).toString() == u"broken_ckpt.safetensors")
        return std::pair{QStringLiteral("safetensors._safetensors_rust.SafetensorError"),
                         QStringLiteral("Error while deserializing header: header too large")};
    if (cls == u"LatentUpscaleBy") {
        const FakeGraph::Shape in = m_graph.latentShape(m_graph.linkedNode(nodeId, QStringLiteral("samples")));
        const double scale = m_graph.input(nodeId, QStringLiteral("scale_by")).toDouble();
        const int lw = in.size.width() / 8, lh = in.size.height() / 8;
        const int w = int(std::nearbyint(lw * scale)), h = int(std::nearbyint(lh * scale));
        if (w <= 0 || h <= 0)
            return std::pair{
                QStringLiteral("RuntimeError"),
                QStringLiteral("Input and output sizes should be greater than 0, but got input (H: %1, W: %2) "
                               "output (H: %3, W: %4)")
                    .arg(lh)
                    .arg(lw)
                    .arg(qMax(0, h))
                    .arg(qMax(0, w))};
    }
    for (const OrderedJson::Member &in : m_item.prompt.value(nodeId).value(u"inputs").members()) {
        if (in.second.isString() && in.second.toString().contains(QLatin1String("__fail__")))
            return std::pair{QStringLiteral("RuntimeError"),
                             QStringLiteral("Simulated failure: input '%1' contains __fail__").arg(in.first)};
    }
    return std::nullopt;
}

bool FakeRun::previewsEnabled() const
{
    const QString method = m_item.extraData.value(u"preview_method").toString();
    if (method == u"none")
        return false;
    if (method == u"auto" || method == u"latent2rgb" || method == u"taesd")
        return true;
    return m_options.previews;
}

} // namespace cr::sim
