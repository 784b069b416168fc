#pragma once
// What the tests of the whole Service share (tst_service, tst_servicestore): the example configuration
// pointed at a fake ComfyUI with everything on port 0, that fake ComfyUI, and a small HTTP client for the
// service's REST API that waits on the reply's finished signal.

#include "core/config/config.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>
#include <QUrl>

#include <memory>

class QNetworkAccessManager;

namespace cr {
class Service;
namespace sim {
class FakeComfy;
}
} // namespace cr

namespace cr::servicetest {

// One finished HTTP exchange; status 0 when no answer came within 20 s.
struct HttpResult {
    int status = 0;
    QJsonObject json; // the body as a JSON object (empty when it is not one)
    QByteArray body;
};

// VERB url, with body as JSON when it is not empty; waits up to 20 s for the answer.
HttpResult request(QNetworkAccessManager &nam, const QByteArray &verb, const QUrl &url, const QJsonObject &body = {});

// A fake ComfyUI listening on a free port whose jobs take 3 sampler steps of 5 ms; null when it cannot listen.
std::unique_ptr<sim::FakeComfy> startQuickFake();

// config_example.toml as README's run command uses it (named parameters included), pointed at fake: the REST
// API and the relay on port 0, ComfyUI pinged every 200 ms, dataDir as the data folder.
Config exampleConfig(const sim::FakeComfy &fake, const QString &dataDir);

// http://127.0.0.1:<the service's REST API port><path>
QUrl apiUrl(const Service &service, const QString &path);

// True once GET /api/v1/ready answers 200 (asked again after each answer, for up to 10 s).
bool waitReady(QNetworkAccessManager &nam, const Service &service);

} // namespace cr::servicetest
