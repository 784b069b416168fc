// The fake ComfyUI as one backend of a pool: its name in /system_stats, its model lists (GET /models/{folder},
// the loaders' combo lists in /object_info, validation against them) and the cost of a model switch
// (FakeComfyOptions::modelLoadMs), consistent with ComfyUI's cache.

#include "tests/fake/fakecomfytesthelpers.h"

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTest>

using namespace cr::testing::fakecomfytest;

namespace {

const QString kA = QStringLiteral("A.safetensors");
const QString kB = QStringLiteral("B.safetensors");

// Workflow A with a LoraLoader (node 10) between the checkpoint and the sampler.
OrderedJson withLora(OrderedJson workflow, const QString &lora)
{
    workflow.insert(
        QStringLiteral("10"),
        OrderedJson::object({{QStringLiteral("class_type"), "LoraLoader"},
                             {QStringLiteral("inputs"),
                              OrderedJson::object({{QStringLiteral("lora_name"), lora},
                                                   {QStringLiteral("strength_model"), 1.0},
                                                   {QStringLiteral("strength_clip"), 1.0},
                                                   {QStringLiteral("model"), OrderedJson::array({"4", 0})},
                                                   {QStringLiteral("clip"), OrderedJson::array({"4", 1})}})}}));
    workflow.find(u"3")->find(u"inputs")->insert(QStringLiteral("model"), OrderedJson::array({"10", 0}));
    return workflow;
}

} // namespace

class TstFakeComfyModels : public QObject, protected FakeComfyHttpClient
{
    Q_OBJECT

private:
    OrderedJson workflow(const QString &ckpt, int seed) const
    {
        OrderedJson w = m_workflowA;
        w.find(u"4")->find(u"inputs")->insert(QStringLiteral("ckpt_name"), ckpt);
        w.find(u"3")->find(u"inputs")->insert(QStringLiteral("seed"), seed);
        return w;
    }

    // Runs one prompt to its end; returns how long it ran (promptStarted to promptFinished, both taken in the
    // signal) and its frames; -1 when it did not run.
    qint64 run(FakeComfy &fake, WsProbe &probe, const OrderedJson &graph, QList<Frame> *frames = nullptr)
    {
        QElapsedTimer clock;
        clock.start();
        qint64 startedAt = -1, finishedAt = -1;
        QObject context;
        connect(&fake, &FakeComfy::promptStarted, &context, [&] { startedAt = clock.elapsed(); });
        connect(&fake, &FakeComfy::promptFinished, &context, [&] { finishedAt = clock.elapsed(); });
        const qsizetype from = probe.frames.size();
        const QString id = submit(fake, graph, probe.clientId);
        if (id.isEmpty())
            return -1;
        const qsizetype done = probe.waitDone(id, from, 20000);
        if (done < 0 || startedAt < 0 || finishedAt < 0)
            return -1;
        if (frames)
            *frames = probe.frames.mid(from, done - from + 1);
        return finishedAt - startedAt;
    }

    static QStringList cachedNodes(const QList<Frame> &frames)
    {
        for (const Frame &f : frames) {
            if (f.type() == u"execution_cached")
                return f.data().value(u"nodes").toStringList();
        }
        return {};
    }

    static bool executedNode(const QList<Frame> &frames, const QString &node)
    {
        return std::any_of(frames.cbegin(), frames.cend(), [&node](const Frame &f) {
            return f.type() == u"executing" && f.data().value(u"node").toString() == node;
        });
    }

private slots:
    void initTestCase() { QVERIFY(m_workflowA.contains(u"3")); }

    // GET /models is ComfyUI's folder list (capture H, byte for byte); every folder serves what was set.
    void modelRoutes()
    {
        const auto capture = Capture::load(QStringLiteral("H_endpoints"));
        QVERIFY(capture);
        QByteArray realFolders;
        for (const CaptureRecord &r : capture->records) {
            if (r.dir == u"http_resp" && r.line.value(QStringLiteral("id")).toInt() == 5)
                realFolders = r.line.value(QStringLiteral("body_text")).toString().toUtf8();
        }
        QVERIFY(!realFolders.isEmpty());

        FakeComfy fake;
        QVERIFY(fake.listen());
        QCOMPARE(http(fake, "GET", QStringLiteral("/models")).body, realFolders);
        QCOMPARE(http(fake, "GET", QStringLiteral("/models/checkpoints")).json().toStringList(),
                 (QStringList{"broken_ckpt.safetensors", "rand_sd15.safetensors", "v1-5-pruned-emaonly.safetensors"}));
        QCOMPARE(http(fake, "GET", QStringLiteral("/models/loras")).body, QByteArray("[]"));

        QVERIFY(fake.setModels(QStringLiteral("checkpoints"), {kA, kB}));
        QVERIFY(fake.setModels(QStringLiteral("loras"), {QStringLiteral("x.safetensors")}));
        QVERIFY(!fake.setModels(QStringLiteral("bogus"), {kA}));
        const HttpResult checkpoints = http(fake, "GET", QStringLiteral("/api/models/checkpoints"));
        QCOMPARE(checkpoints.status, 200);
        QCOMPARE(checkpoints.contentType, QByteArray("application/json; charset=utf-8"));
        QCOMPARE(checkpoints.body, QByteArray("[\"A.safetensors\", \"B.safetensors\"]"));
        QCOMPARE(http(fake, "GET", QStringLiteral("/models/loras")).body, QByteArray("[\"x.safetensors\"]"));
        QCOMPARE(http(fake, "GET", QStringLiteral("/models/vae")).body, QByteArray("[]"));
        const HttpResult unknown = http(fake, "GET", QStringLiteral("/models/bogus"));
        QCOMPARE(unknown.status, 404);
        QCOMPARE(unknown.body, QByteArray("404: Not Found"));
        QCOMPARE(fake.models(QStringLiteral("checkpoints")), (QStringList{kA, kB}));
        fake.setCheckpoints({kB}); // the older setter is the same list
        QCOMPARE(http(fake, "GET", QStringLiteral("/models/checkpoints")).json().toStringList(), QStringList{kB});
    }

    // The loaders' combo lists in /object_info follow the folders; their options objects stay.
    void comboListsFollow()
    {
        FakeComfy fake;
        QVERIFY(fake.listen());
        const OrderedJson before = http(fake, "GET", QStringLiteral("/object_info/CheckpointLoaderSimple")).json();
        const OrderedJson ckptBefore
            = before.value(u"CheckpointLoaderSimple").value(u"input").value(u"required").value(u"ckpt_name");
        QCOMPARE(ckptBefore.at(0).toStringList(), fake.models(QStringLiteral("checkpoints")));

        QVERIFY(fake.setModels(QStringLiteral("checkpoints"), {kA, kB}));
        QVERIFY(fake.setModels(QStringLiteral("loras"), {QStringLiteral("x.safetensors"), QStringLiteral("y.pt")}));
        QVERIFY(fake.setModels(QStringLiteral("vae"), {QStringLiteral("sdxl_vae.safetensors")}));
        const OrderedJson info = http(fake, "GET", QStringLiteral("/object_info")).json();
        auto combo = [&info](const char16_t *cls, const char16_t *input) {
            return info.value(QStringView(cls)).value(u"input").value(u"required").value(QStringView(input));
        };
        QCOMPARE(combo(u"CheckpointLoaderSimple", u"ckpt_name").at(0).toStringList(), (QStringList{kA, kB}));
        QCOMPARE(combo(u"CheckpointLoaderSimple", u"ckpt_name").at(1).dump(), ckptBefore.at(1).dump()); // tooltip
        QCOMPARE(combo(u"LoraLoader", u"lora_name").at(0).toStringList(), (QStringList{"x.safetensors", "y.pt"}));
        QCOMPARE(combo(u"VAELoader", u"vae_name").at(0).toStringList(),
                 (QStringList{"sdxl_vae.safetensors", "pixel_space"}));
        QCOMPARE(combo(u"KSampler", u"sampler_name").at(0).size(), // other combos are untouched
                 http(fake, "GET", QStringLiteral("/object_info/KSampler"))
                     .json()
                     .value(u"KSampler")
                     .value(u"input")
                     .value(u"required")
                     .value(u"sampler_name")
                     .at(0)
                     .size());
    }

    // Validation refuses a model that is not in the folder, with ComfyUI's value_not_in_list, and accepts one
    // that is.
    void validationRefusesUnknownModels()
    {
        FakeComfy fake;
        fake.setStepIntervalMs(1);
        fake.setSteps(1);
        fake.setPreviewsEnabled(false);
        QVERIFY(fake.setModels(QStringLiteral("checkpoints"), {kA, kB}));
        QVERIFY(fake.setModels(QStringLiteral("loras"), {QStringLiteral("x.safetensors")}));
        QVERIFY(fake.listen());

        auto post = [&](const OrderedJson &graph) {
            return http(fake, "POST", QStringLiteral("/prompt"),
                        OrderedJson::object({{QStringLiteral("prompt"), graph}}).dump());
        };
        const HttpResult missingCkpt = post(workflow(QStringLiteral("rand_sd15.safetensors"), 1));
        QCOMPARE(missingCkpt.status, 400);
        const OrderedJson error = missingCkpt.json().value(u"node_errors").value(u"4").value(u"errors").at(0);
        QCOMPARE(error.value(u"type").toString(), QStringLiteral("value_not_in_list"));
        QCOMPARE(error.value(u"details").toString(),
                 QStringLiteral("ckpt_name: 'rand_sd15.safetensors' not in ['A.safetensors', 'B.safetensors']"));
        QCOMPARE(error.value(u"extra_info").value(u"received_value").toString(),
                 QStringLiteral("rand_sd15.safetensors"));

        const HttpResult missingLora = post(withLora(workflow(kA, 1), QStringLiteral("z.safetensors")));
        QCOMPARE(missingLora.status, 400);
        const OrderedJson loraError = missingLora.json().value(u"node_errors").value(u"10").value(u"errors").at(0);
        QCOMPARE(loraError.value(u"type").toString(), QStringLiteral("value_not_in_list"));
        QCOMPARE(loraError.value(u"details").toString(),
                 QStringLiteral("lora_name: 'z.safetensors' not in ['x.safetensors']"));

        QCOMPARE(post(workflow(kB, 1)).status, 200);
        QCOMPARE(post(withLora(workflow(kA, 2), QStringLiteral("x.safetensors"))).status, 200);
        QCOMPARE(fake.acceptedPromptIds().size(), 2);
    }

    // --name: devices[0] is a CUDA device named after the simulator; the shape stays the captured one.
    void nameInSystemStats()
    {
        const auto capture = Capture::load(QStringLiteral("H_endpoints"));
        QVERIFY(capture);
        OrderedJson real;
        for (const CaptureRecord &r : capture->records) {
            if (r.dir == u"http_resp" && r.line.value(QStringLiteral("id")).toInt() == 11)
                real = OrderedJson::parse(r.line.value(QStringLiteral("body_text")).toString().toUtf8())
                           .value_or(OrderedJson());
        }
        QVERIFY(real.isObject());

        FakeComfy fake;
        QVERIFY(fake.listen());
        QCOMPARE(
            http(fake, "GET", QStringLiteral("/system_stats")).json().value(u"devices").at(0).value(u"name").toString(),
            QStringLiteral("cpu"));
        fake.setName(QStringLiteral("gpu0"));
        QCOMPARE(fake.name(), QStringLiteral("gpu0"));
        const OrderedJson stats = http(fake, "GET", QStringLiteral("/system_stats")).json();
        QCOMPARE(stats.keys(), real.keys());
        QCOMPARE(stats.value(u"system").keys(), real.value(u"system").keys());
        QCOMPARE(stats.value(u"devices").size(), 1);
        const OrderedJson device = stats.value(u"devices").at(0);
        QCOMPARE(device.keys(), real.value(u"devices").at(0).keys());
        QCOMPARE(device.value(u"name").toString(), QStringLiteral("cuda:0 gpu0 (simulated)"));
        QCOMPARE(device.value(u"type").toString(), QStringLiteral("cuda"));
        QCOMPARE(device.value(u"index").dump(), QByteArray("0"));
    }

    // A checkpoint change costs modelLoadMs at the loader (the first load too); the same checkpoint again costs
    // nothing, whether the loader is cached or runs again after /free; unload_models and restart forget it.
    void modelSwitchCostsTime()
    {
        constexpr int kLoadMs = 1000;
        FakeComfy fake;
        fake.setStepIntervalMs(1);
        fake.setSteps(1);
        fake.setNodeDelayMs(0);
        fake.setPreviewsEnabled(false);
        fake.setModelLoadMs(kLoadMs);
        QVERIFY(fake.setModels(QStringLiteral("checkpoints"), {kA, kB}));
        QVERIFY(fake.listen());
        WsProbe probe;
        QVERIFY(probe.open(fake.wsUrl(), newId(), true));
        QCOMPARE(fake.loadedCheckpoint(), QString());

        QList<Frame> frames;
        const qint64 first = run(fake, probe, workflow(kA, 1), &frames);
        QVERIFY2(first >= kLoadMs, qPrintable(QString::number(first)));
        QVERIFY(executedNode(frames, QStringLiteral("4")));
        QCOMPARE(fake.loadedCheckpoint(), kA);
        QCOMPARE(fake.modelLoads(), 1);

        const qint64 cached = run(fake, probe, workflow(kA, 2), &frames); // loader cached (same inputs)
        QVERIFY2(cached >= 0 && cached < kLoadMs, qPrintable(QString::number(cached)));
        QVERIFY(!executedNode(frames, QStringLiteral("4")));
        QVERIFY(cachedNodes(frames).contains(QStringLiteral("4")));
        QCOMPARE(fake.loadedCheckpoint(), kA);

        QCOMPARE(http(fake, "POST", QStringLiteral("/free"), "{\"free_memory\": true}").status, 200);
        const qint64 rerun = run(fake, probe, workflow(kA, 3), &frames); // runs again, model still loaded
        QVERIFY2(rerun >= 0 && rerun < kLoadMs, qPrintable(QString::number(rerun)));
        QVERIFY(executedNode(frames, QStringLiteral("4")));
        QCOMPARE(fake.modelLoads(), 1);

        const qint64 switched = run(fake, probe, workflow(kB, 4), &frames);
        QVERIFY2(switched >= kLoadMs, qPrintable(QString::number(switched)));
        QCOMPARE(fake.loadedCheckpoint(), kB);
        QCOMPARE(fake.modelLoads(), 2);

        fake.setModelLoadMs(0); // options apply to prompts started afterwards
        const qint64 free = run(fake, probe, workflow(kA, 5), &frames);
        QVERIFY2(free >= 0 && free < kLoadMs, qPrintable(QString::number(free)));
        QCOMPARE(fake.loadedCheckpoint(), kA);
        fake.setModelLoadMs(kLoadMs);

        QCOMPARE(http(fake, "POST", QStringLiteral("/free"), "{\"unload_models\": true}").status, 200);
        QCOMPARE(fake.loadedCheckpoint(), QString());
        const qint64 cachedAfterUnload = run(fake, probe, workflow(kA, 6), &frames); // cached loader: free
        QVERIFY2(cachedAfterUnload >= 0 && cachedAfterUnload < kLoadMs, qPrintable(QString::number(cachedAfterUnload)));
        QCOMPARE(fake.loadedCheckpoint(), kA);
        QCOMPARE(fake.modelLoads(), 3); // B -> A at no cost (model-load-ms 0) is a load; the cached loader is not

        fake.restart();
        QCOMPARE(fake.loadedCheckpoint(), QString());
    }

    // An interrupt during a model load does not cut it short (ComfyUI notices it only between nodes): the run
    // ends interrupted after the load, with the new checkpoint loaded.
    void interruptWaitsForTheLoad()
    {
        constexpr int kLoadMs = 600;
        FakeComfy fake;
        fake.setStepIntervalMs(1);
        fake.setSteps(1);
        fake.setPreviewsEnabled(false);
        fake.setModelLoadMs(kLoadMs);
        QVERIFY(fake.setModels(QStringLiteral("checkpoints"), {kA, kB}));
        QVERIFY(fake.listen());
        WsProbe probe;
        QVERIFY(probe.open(fake.wsUrl(), newId(), true));
        QSignalSpy finished(&fake, &FakeComfy::promptFinished);
        QElapsedTimer timer;
        timer.start();
        const QString id = submit(fake, workflow(kB, 1), probe.clientId);
        QVERIFY(probe.waitFor(
            [](const Frame &f) { return f.type() == u"executing" && f.data().value(u"node").toString() == u"4"; }));
        QCOMPARE(http(fake, "POST", QStringLiteral("/interrupt")).status, 200);
        QVERIFY(finished.wait(10000));
        QVERIFY2(timer.elapsed() >= kLoadMs, qPrintable(QString::number(timer.elapsed())));
        QCOMPARE(finished.at(0).at(0).toString(), id);
        QCOMPARE(finished.at(0).at(1).toString(), QStringLiteral("interrupted"));
        QCOMPARE(fake.loadedCheckpoint(), kB);
    }
};

QTEST_MAIN(TstFakeComfyModels)
#include "tst_fakecomfymodels.moc"
