#pragma once
// A test WebSocket client that records every frame it receives from a (fake) ComfyUI, with helpers to wait
// for a frame, without sleeping. Text frames are parsed with sim::OrderedJson so key order and int/float survive.

#include "sim/orderedjson.h"

#include <QList>
#include <QObject>
#include <QWebSocket>

#include <functional>

namespace cr::testing {

struct WsFrame {
    bool binary = false;
    QByteArray bytes;     // the exact frame (UTF-8 text or binary)
    sim::OrderedJson msg; // text frames: the parsed message

    QString type() const; // the "type" of a text frame; "BIN<n>" for a binary frame of event type n
    const sim::OrderedJson &data() const { return msg.value(u"data"); }
};

class WsProbe final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(WsProbe)

public:
    explicit WsProbe(QObject *parent = nullptr);

    QWebSocket ws;
    QList<WsFrame> frames;
    QString clientId;

    // Connects to `wsUrl` (?clientId= added when not empty), waits for the first status frame and, with
    // sendFlags, negotiates supports_preview_metadata and waits for the server's feature_flags.
    bool open(const QUrl &wsUrl, const QString &clientId, bool sendFlags, int timeoutMs = 10000);

    // The index of the first frame at or after `from` that matches, waiting up to timeoutMs; -1 if none.
    qsizetype indexOf(const std::function<bool(const WsFrame &)> &pred, qsizetype from = 0, int timeoutMs = 10000);
    bool waitFor(const std::function<bool(const WsFrame &)> &pred, qsizetype from = 0, int timeoutMs = 10000)
    {
        return indexOf(pred, from, timeoutMs) >= 0;
    }
    // The index of `executing {node: null, prompt_id}` (a prompt's completion), or -1.
    qsizetype waitDone(const QString &promptId, qsizetype from = 0, int timeoutMs = 10000);

signals:
    void received();
};

} // namespace cr::testing
