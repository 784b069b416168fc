// Previews go out a slice of clients per turn of the event loop (PreviewFanout): a JSON event published
// meanwhile reaches the clients that have the preview at once and each other client right after its own copy of
// the preview, so no client sees frames out of ComfyUI's order; with the default budget a handful of clients get
// a preview in one turn; a newer preview first finishes the older one's fan-out, so every client gets every
// preview, in order.

#include "core/relay/eventhub.h"
#include "core/relay/relayserver.h"
#include "relayfixture.h"
#include "relaytestclients.h"

#include <QSignalSpy>
#include <QTest>

#include <memory>

using namespace cr;
using namespace cr::protocol;
using namespace cr::testing;
using namespace Qt::StringLiterals;

namespace {

const QByteArray kProgress = R"({"type": "progress", "data": {"value": 1, "max": 8, "prompt_id": "pA", "node": "3"}})";

struct Clients {
    std::vector<std::unique_ptr<WsProbe>> probes;
    QList<quint64> ids; // in connection order, which is the relay's delivery order

    bool connect(RelayFixture &relay, int count)
    {
        QSignalSpy connected(relay.server.get(), &RelayServer::clientConnected);
        for (int i = 0; i < count; ++i) {
            probes.push_back(std::make_unique<WsProbe>());
            probes.back()->open(relay.url());
            if (!probes.back()->waitConnected())
                return false;
            // One at a time, so that the delivery order is the order here.
            if (!QTest::qWaitFor([&] { return connected.count() == i + 1; }, 10'000))
                return false;
            ids.append(connected.at(i).at(0).toULongLong());
        }
        return true;
    }
    bool waitAll(qsizetype messages)
    {
        for (auto &p : probes)
            if (!p->waitForMessages(messages))
                return false;
        return true;
    }
};

} // namespace

class TstRelayFanout : public QObject
{
    Q_OBJECT

private slots:
    void jsonWaitsOnlyForTheClientsOwnPreviewCopy();
    void fewClientsGetThePreviewFirst();
    void newerPreviewFinishesTheOlderFirst();
};

void TstRelayFanout::jsonWaitsOnlyForTheClientsOwnPreviewCopy()
{
    RelayServerOptions options;
    options.previewBytesPerTurn = 1; // one client per turn
    RelayFixture relay(relayTestSettings(), {}, options);
    QVERIFY(relay.listen());
    Clients c;
    QVERIFY(c.connect(relay, 3));
    relay.hub->publishPreview(previewFrame("imgA", u"pA"_s), u"A"_s);
    relay.hub->publishComfyEvent(comfyEvent(kProgress), u"A"_s); // in the same turn, as ComfyUI's next frame
    // Before the event loop turns: the first client had the preview and now the progress event written; the
    // others have neither yet (the progress event waits for their copy of the preview).
    QCOMPARE(statsOf(*relay.server, c.ids[0])->previewsSent, 1u);
    QCOMPARE(statsOf(*relay.server, c.ids[0])->messagesSent, 1u); // the progress event
    QCOMPARE(statsOf(*relay.server, c.ids[2])->previewsSent, 0u);
    QCOMPARE(statsOf(*relay.server, c.ids[2])->messagesSent, 0u);
    QVERIFY(c.waitAll(2));
    for (auto &p : c.probes) // every client in ComfyUI's order
        QCOMPARE(describeMessages(p->messages()), (QStringList{u"preview1:imgA"_s, u"progress@A"_s}));
    for (quint64 id : c.ids) {
        QCOMPARE(statsOf(*relay.server, id)->previewsSent, 1u);
        QCOMPARE(statsOf(*relay.server, id)->previewsDropped, 0u);
    }
}

void TstRelayFanout::fewClientsGetThePreviewFirst()
{
    RelayFixture relay; // the default budget (1 MiB per turn) covers three small previews at once
    QVERIFY(relay.listen());
    Clients c;
    QVERIFY(c.connect(relay, 3));
    relay.hub->publishPreview(previewFrame("imgA", u"pA"_s), u"A"_s);
    relay.hub->publishComfyEvent(comfyEvent(kProgress), u"A"_s);
    QVERIFY(c.waitAll(2));
    for (auto &p : c.probes)
        QCOMPARE(describeMessages(p->messages()), (QStringList{u"preview1:imgA"_s, u"progress@A"_s}));
}

void TstRelayFanout::newerPreviewFinishesTheOlderFirst()
{
    RelayServerOptions options;
    options.previewBytesPerTurn = 1;
    RelayFixture relay(relayTestSettings(), {}, options);
    QVERIFY(relay.listen());
    Clients c;
    QVERIFY(c.connect(relay, 3));
    relay.hub->publishPreview(previewFrame("imgA", u"pA"_s), u"A"_s); // client 0 gets it now
    relay.hub->publishPreview(previewFrame("imgB", u"pA"_s), u"A"_s); // clients 1 and 2 get A first, then B
    relay.hub->publishComfyEvent(comfyEvent(kProgress), u"A"_s);
    QVERIFY(c.waitAll(3));
    QCOMPARE(describeMessages(c.probes[0]->messages()),
             (QStringList{u"preview1:imgA"_s, u"preview1:imgB"_s, u"progress@A"_s}));
    QCOMPARE(describeMessages(c.probes[2]->messages()),
             (QStringList{u"preview1:imgA"_s, u"preview1:imgB"_s, u"progress@A"_s}));
    for (quint64 id : c.ids) {
        QCOMPARE(statsOf(*relay.server, id)->previewsDropped, 0u);
        QCOMPARE(statsOf(*relay.server, id)->previewsSent, 2u);
    }
    QVERIFY(c.probes[2]->roundTrip()); // nothing else is on its way
    QCOMPARE(c.probes[2]->messages().size(), 3);
}

QTEST_GUILESS_MAIN(TstRelayFanout)
#include "tst_relayfanout.moc"
