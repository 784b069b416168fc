#pragma once
// A whole comfy_runner for the monitor's tests: the fake ComfyUI on port 0 and a cr::Service (REST API and
// relay on port 0) pointed at it, with the repo's workflows and a temporary data folder. restart() stops
// the service and starts a new one on the same ports, as a runner restart does.

#include "core/config/config.h"
#include "core/service/service.h"
#include "sim/fakecomfy.h"

#include <QTemporaryDir>
#include <QUrl>

#include <memory>

namespace cr::testing {

class RunnerEnv
{
public:
    RunnerEnv();
    ~RunnerEnv();

    bool start();   // fake ComfyUI, then the service; true when the service is connected to it
    bool restart(); // a new Service on the same HTTP and relay ports (its event numbering restarts)
    void stopService();

    sim::FakeComfy &fake() { return m_fake; }
    Service *service() const { return m_service.get(); }
    QString httpUrl() const;  // http://127.0.0.1:P
    QString relayUrl() const; // ws://127.0.0.1:Q/
    QString dataDir() const { return m_data.path(); }

private:
    bool startService();

    sim::FakeComfy m_fake;
    QTemporaryDir m_data;
    Config m_config;
    std::unique_ptr<Service> m_service;
};

} // namespace cr::testing
