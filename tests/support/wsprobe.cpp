#include "tests/support/wsprobe.h"

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QtEndian>

namespace cr::testing {

QString WsFrame::type() const
{
    if (binary)
        return bytes.size() >= 4 ? QStringLiteral("BIN%1").arg(qFromBigEndian<quint32>(bytes.constData()))
                                 : QStringLiteral("BIN");
    return msg.value(u"type").toString();
}

WsProbe::WsProbe(QObject *parent) : QObject(parent)
{
    connect(&ws, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
        WsFrame frame;
        frame.bytes = text.toUtf8();
        frame.msg = sim::OrderedJson::parse(frame.bytes).value_or(sim::OrderedJson());
        frames.append(frame);
        emit received();
    });
    connect(&ws, &QWebSocket::binaryMessageReceived, this, [this](const QByteArray &bytes) {
        frames.append(WsFrame{true, bytes, {}});
        emit received();
    });
}

bool WsProbe::open(const QUrl &wsUrl, const QString &id, bool sendFlags, int timeoutMs)
{
    clientId = id;
    QUrl url = wsUrl;
    if (!id.isEmpty())
        url.setQuery(QStringLiteral("clientId=") + id);
    ws.open(url);
    if (!waitFor([](const WsFrame &f) { return f.type() == u"status"; }, 0, timeoutMs))
        return false;
    if (!sendFlags)
        return true;
    ws.sendTextMessage(
        QStringLiteral("{\"type\": \"feature_flags\", \"data\": {\"supports_preview_metadata\": true}}"));
    return waitFor([](const WsFrame &f) { return f.type() == u"feature_flags"; }, 0, timeoutMs);
}

qsizetype WsProbe::indexOf(const std::function<bool(const WsFrame &)> &pred, qsizetype from, int timeoutMs)
{
    QElapsedTimer timer;
    timer.start();
    for (;;) {
        for (qsizetype i = from; i < frames.size(); ++i) {
            if (pred(frames.at(i)))
                return i;
        }
        const int left = timeoutMs - int(timer.elapsed());
        if (left <= 0)
            return -1;
        QSignalSpy spy(this, &WsProbe::received);
        if (!spy.wait(left) && spy.isEmpty())
            return -1;
    }
}

qsizetype WsProbe::waitDone(const QString &promptId, qsizetype from, int timeoutMs)
{
    return indexOf(
        [&promptId](const WsFrame &f) {
            return f.type() == u"executing" && f.data().value(u"node").isNull()
                && f.data().value(u"prompt_id").toString() == promptId;
        },
        from, timeoutMs);
}

} // namespace cr::testing
