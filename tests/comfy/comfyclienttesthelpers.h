#pragma once
// What the ComfyClient tests share: the project's workflow, client settings for the fake, a recorder of what
// a client emits, and a submission that waits for ComfyUI's answer.

#include "core/comfy/comfyclient.h"
#include "sim/fakecomfy.h"

#include <QFile>
#include <QJsonDocument>
#include <QtTest>

#include <memory>

namespace cr::comfytest {

inline QJsonObject loadWorkflow()
{
    QFile f(QStringLiteral(CR_SOURCE_DIR "/workflows/sd15_txt2img.json"));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

inline ComfySettings settingsFor(const cr::sim::FakeComfy &fake)
{
    ComfySettings s;
    s.url = fake.httpUrl();
    s.requestTimeoutMs = 2000;
    s.pingIntervalMs = 100;
    s.pingTimeoutMs = 1500; // generous: a busy machine must not look like a dead ComfyUI
    s.reconnectMaxMs = 200;
    return s;
}

// Collects what a client emits.
struct Recorder {
    QList<protocol::ComfyEvent> events;
    QList<protocol::PreviewFrame> previews;
    QList<PromptOutcome> outcomes;
    QList<ConnectionState> states;

    explicit Recorder(ComfyClient &c)
    {
        QObject::connect(&c, &ComfyClient::eventReceived, [this](const protocol::ComfyEvent &e) { events.append(e); });
        QObject::connect(&c, &ComfyClient::previewReceived,
                         [this](const protocol::PreviewFrame &f, const QByteArray &) { previews.append(f); });
        QObject::connect(&c, &ComfyClient::promptFinished, [this](const PromptOutcome &o) { outcomes.append(o); });
        QObject::connect(&c, &ComfyClient::stateChanged, [this](ConnectionState s) { states.append(s); });
    }
    const PromptOutcome *outcome(const QString &id) const
    {
        for (const PromptOutcome &o : outcomes)
            if (o.promptId == id)
                return &o;
        return nullptr;
    }
    QStringList typesFor(const QString &id) const
    {
        QStringList t;
        for (const auto &e : events)
            if (e.promptId == id)
                t << e.typeName;
        return t;
    }
};

// Submits and returns the id, failing the test (empty id) when ComfyUI refuses.
inline QString submitOk(ComfyClient &c, const QJsonObject &graph)
{
    const QString id = ComfyClient::newPromptId();
    bool acked = false;
    c.submit(id, graph, [&acked](Result<SubmitAck> r) { acked = r.ok(); });
    if (!QTest::qWaitFor([&] { return acked; }, 5000))
        return {};
    return id;
}

// A fake ComfyUI on port 0 (4 steps of `stepIntervalMs`, 64 px previews), a client for it and the project's
// workflow: what every ComfyClient test case starts from (set up in init(), torn down in cleanup()).
struct ClientFixture {
    std::unique_ptr<cr::sim::FakeComfy> fake;
    std::unique_ptr<ComfyClient> client;
    QJsonObject graph;

    bool setUp(int stepIntervalMs, const QString &clientId)
    {
        fake = std::make_unique<cr::sim::FakeComfy>();
        if (!fake->listen())
            return false;
        fake->setSteps(4);
        fake->setStepIntervalMs(stepIntervalMs);
        fake->setPreviewSize(64);
        client = std::make_unique<ComfyClient>(settingsFor(*fake), clientId);
        graph = loadWorkflow();
        return !graph.isEmpty();
    }
    void tearDown()
    {
        client.reset();
        fake.reset();
    }
    // Starts the client; true once it is connected with preview metadata negotiated.
    bool connectClient()
    {
        client->start();
        return QTest::qWaitFor(
            [this] {
                return client->state() == ConnectionState::Connected
                    && client->connection()->previewMetadataNegotiated();
            },
            5000);
    }
};

} // namespace cr::comfytest
