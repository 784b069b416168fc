#pragma once
// Helpers shared by the fake ComfyUI tests: HTTP calls and prompt submission with a plain QNetworkAccessManager,
// and the workflows and run frames of the recorded captures.

#include "sim/capture.h"
#include "sim/fakecomfy.h"
#include "sim/orderedjson.h"
#include "tests/support/wsprobe.h"

#include <QList>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QString>
#include <QStringList>

namespace cr::testing::fakecomfytest {

using cr::sim::Capture;
using cr::sim::CaptureRecord;
using cr::sim::FakeComfy;
using cr::sim::OrderedJson;
using cr::testing::WsProbe;

using Frame = cr::testing::WsFrame;

struct HttpResult {
    int status = 0;
    QByteArray body;
    QByteArray contentType;
    QNetworkReply::NetworkError error = QNetworkReply::NoError;
    OrderedJson json() const { return OrderedJson::parse(body).value_or(OrderedJson()); }
};

// The workflow of the capture's POST /prompt number `index`.
OrderedJson workflowOf(const Capture &capture, int index = 0);
// The workflow of capture A_ksampler_ok (the one most tests submit); empty when the capture cannot be loaded.
OrderedJson workflowA();

// The frames of the capture's run number `run` on `conn`: from the first frame after that POST /prompt up to
// and including `executing` with node null.
QList<Frame> captureRun(const Capture &capture, const QString &conn, int run = 0);

QStringList types(const QList<Frame> &frames);

QString newId();

// HTTP against a FakeComfy; the test classes derive from it (after QObject) to call http() and submit(),
// and use m_workflowA (their initTestCase checks that it loaded).
class FakeComfyHttpClient
{
protected:
    QNetworkAccessManager m_nam;
    const OrderedJson m_workflowA = workflowA();

    HttpResult http(const FakeComfy &fake, const QByteArray &method, const QString &pathAndQuery,
                    const QByteArray &body = {}, int timeoutMs = 10000);
    QString submit(const FakeComfy &fake, const OrderedJson &workflow, const QString &clientId,
                   const OrderedJson &extra = {});
};

} // namespace cr::testing::fakecomfytest
