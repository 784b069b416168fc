#pragma once
// The composition root: creates every module of the service from the Config, wires them and starts them.
// main() and the integration tests build one Service; nothing else knows how the parts connect.

#include "core/config/config.h"

#include <QObject>

#include <memory>

namespace cr {

class ActiveDraft;
class ApiServer;
class BackendPool;
class ComfyClient;
class EventHub;
class JobManager;
class WebhookDispatcher;
struct EffectiveConfig;

class Service final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Service)

public:
    explicit Service(Config config, QObject *parent = nullptr);
    ~Service() override;

    // Binds the listeners and connects to ComfyUI. Returns false with a one-sentence reason when a
    // start-up step fails (port in use, unusable folder).
    bool start(QString *error);
    // Closes listeners and connections; safe to call twice.
    void stop();
    // SIGHUP: applies a configuration read again (loadEffectiveConfig). A refused one (errors, or a network
    // listener left without a token) changes nothing. Otherwise the workflows are rescanned and the token,
    // [node_mappings], [log] rules, the active workflow and the cheap limits are applied live; keys that
    // need a restart keep their running values and are named in one warning. Running jobs are not
    // touched; an edited draft is kept. README, "Reloading the configuration"; /api/v1/system "config".
    void reload(const EffectiveConfig &loaded);

    const Config &config() const { return m_config; }
    quint16 httpPort() const; // the bound port (useful with port 0)
    quint16 relayPort() const;
    // The one-line summary systemd shows (STATUS=): "ComfyUI connected, 2 job(s) running or queued, ...".
    QString statusLine() const;

    // The parts, for tests and tools that drive the whole service in one process (null before start()).
    ComfyClient *comfy() const; // the first backend's client (the only one without [[backends]])
    BackendPool *pool() const;
    JobManager *jobs() const;
    ActiveDraft *draft() const;
    EventHub *hub() const;
    ApiServer *api() const;
    WebhookDispatcher *webhooks() const;
    // Destroys the REST API with whatever connections it has open (as ~Service does) while the rest runs
    // on: the tests of callbacks that outlive the API (tests/api) use it.
    void stopApi();

private:
    struct Parts;
    Config m_config;
    std::unique_ptr<Parts> m_parts;
};

} // namespace cr
