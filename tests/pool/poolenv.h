#pragma once
// The whole service in front of N fake ComfyUIs (each on port 0, named gpu0..gpuN-1 in [[backends]]), with
// its workflows and data folders, a small HTTP client and helpers to submit and follow jobs. The service can
// be stopped and started again on the same data folder (a runner restart) while the fakes run on.

#include "core/pool/backendpool.h"
#include "core/service/service.h"
#include "sim/fakecomfy.h"
#include "tests/api/apitestenv.h"

#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QTemporaryDir>

#include <functional>
#include <memory>
#include <vector>

namespace cr::testing {

class PoolEnv
{
public:
    // configure: last changes to the Config (backends are already filled in) before each start.
    // startNow false: call start() after setting the fakes up (their models are read when the service connects).
    explicit PoolEnv(int backends = 3, std::function<void(Config &)> configure = {}, bool startNow = true);
    ~PoolEnv();

    bool start();       // the service; true once every listening fake is connected and known
    void stopService(); // as at shutdown (the fakes keep running)
    bool ok() const { return m_ok; }
    sim::FakeComfy &fake(int i) { return *m_fakes.at(size_t(i)); }
    int fakeCount() const { return int(m_fakes.size()); }
    Service &service() { return *m_service; }
    BackendPool &pool() { return *m_service->pool(); }
    Backend *backend(const QString &name) { return m_service->pool()->find(name); }
    void setConfigure(std::function<void(Config &)> configure) { m_configure = std::move(configure); }

    HttpResult call(const QByteArray &verb, const QString &path, const QByteArray &body = {});
    // POST /api/v1/jobs with `body` (a JSON object; "workflow": "sd15" added when it names neither).
    HttpResult post(QJsonObject body);
    // Posts and returns the new job's id ("" on an error answer).
    QString submit(const QJsonObject &body = {});
    QJsonObject job(const QString &id);
    // Waits until the job is in `state`; returns the job as last seen.
    bool waitState(const QString &id, const QString &state, int timeoutMs = 15000);
    // Waits until the backend's fake runs this prompt.
    bool waitRunning(int fake, const QString &promptId, int timeoutMs = 10000);
    int totalPrompts() const; // POST /prompt received by every fake together

private:
    QTemporaryDir m_workflows;
    QTemporaryDir m_data;
    std::vector<std::unique_ptr<sim::FakeComfy>> m_fakes;
    std::unique_ptr<Service> m_service;
    std::function<void(Config &)> m_configure;
    QNetworkAccessManager m_nam;
    bool m_ok = false;
};

// The job JSON's backend of attempt i, or "".
QString attemptBackend(const QJsonObject &job, int i);

} // namespace cr::testing
