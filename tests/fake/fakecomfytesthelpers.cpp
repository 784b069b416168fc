#include "tests/fake/fakecomfytesthelpers.h"

#include <QDebug>
#include <QSignalSpy>
#include <QUuid>

namespace cr::testing::fakecomfytest {

OrderedJson workflowOf(const Capture &capture, int index)
{
    int seen = 0;
    for (const CaptureRecord &r : capture.records) {
        if (r.dir == u"http_req" && r.line.value(QStringLiteral("path")).toString() == u"/prompt" && seen++ == index)
            return OrderedJson::parse(r.line.value(QStringLiteral("body_text")).toString().toUtf8())
                .value_or(OrderedJson())
                .value(u"prompt");
    }
    return {};
}

OrderedJson workflowA()
{
    const auto a = Capture::load(QStringLiteral("A_ksampler_ok"));
    return a ? workflowOf(*a) : OrderedJson();
}

QList<Frame> captureRun(const Capture &capture, const QString &conn, int run)
{
    QList<Frame> out;
    bool posted = false;
    int posts = 0;
    for (const CaptureRecord &r : capture.records) {
        if (r.dir == u"http_req" && r.line.value(QStringLiteral("path")).toString() == u"/prompt")
            posted = ++posts > run;
        if (!posted || r.dir != u"ws_in" || r.conn != conn)
            continue;
        Frame f;
        f.binary = r.isBinary();
        if (f.binary) {
            f.bytes = r.binary.isEmpty() ? FakeComfy::replayFrameBytes(r) : r.binary;
        } else {
            f.bytes = r.text;
            f.msg = OrderedJson::parse(r.text).value_or(OrderedJson());
        }
        out.append(f);
        if (f.type() == u"executing" && f.data().value(u"node").isNull())
            break;
    }
    return out;
}

QStringList types(const QList<Frame> &frames)
{
    QStringList t;
    for (const Frame &f : frames)
        t.append(f.type());
    return t;
}

QString newId() { return QUuid::createUuid().toString(QUuid::WithoutBraces); }

HttpResult FakeComfyHttpClient::http(const FakeComfy &fake, const QByteArray &method, const QString &pathAndQuery,
                                     const QByteArray &body, int timeoutMs)
{
    QNetworkRequest request(fake.httpUrl().resolved(QUrl(pathAndQuery)));
    request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
    request.setTransferTimeout(timeoutMs);
    QNetworkReply *reply = m_nam.sendCustomRequest(request, method, body);
    QSignalSpy finished(reply, &QNetworkReply::finished);
    if (!reply->isFinished())
        finished.wait(timeoutMs + 2000);
    HttpResult result;
    result.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    result.body = reply->isOpen() ? reply->readAll() : QByteArray();
    result.contentType = reply->header(QNetworkRequest::ContentTypeHeader).toByteArray();
    result.error = reply->error();
    reply->deleteLater();
    return result;
}

QString FakeComfyHttpClient::submit(const FakeComfy &fake, const OrderedJson &workflow, const QString &clientId,
                                    const OrderedJson &extra)
{
    OrderedJson body = OrderedJson::object({{QStringLiteral("prompt"), workflow}});
    if (!clientId.isEmpty())
        body.insert(QStringLiteral("client_id"), clientId);
    if (!extra.isNull())
        body.insert(QStringLiteral("extra_data"), extra);
    const HttpResult r = http(fake, "POST", QStringLiteral("/prompt"), body.dump());
    if (r.status != 200)
        qWarning() << "POST /prompt failed" << r.status << r.body;
    return r.json().value(u"prompt_id").toString();
}

} // namespace cr::testing::fakecomfytest
