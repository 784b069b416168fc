// RelayDiscovery against real local servers on port 0: the relay a comfy_runner Service reports; a runner
// that never answers gets port + 1; and only the newest attempt is ever answered (an answer after
// cancel(), or one of an attempt replaced by a newer start(), is dropped), as the window relies on when
// the user disconnects or reconnects while the runner is still being asked.

#include "gui/app/relaydiscovery.h"
#include "gui/client/restclient.h"
#include "runnerenv.h"

#include <QTcpServer>
#include <QTest>

using cr::testing::RunnerEnv;
using namespace cr::monitor;
using namespace Qt::StringLiterals;

class TstRelayDiscovery : public QObject
{
    Q_OBJECT

private slots:
    void reportsTheRunnersRelay();
    void cancelDropsTheAnswer();
    void onlyTheNewestAttemptIsAnswered();

private:
    // Counts the answers of `discovery` into `answers`.
    static void collect(RelayDiscovery &discovery, QList<RelayEndpoint> &answers)
    {
        QObject::connect(&discovery, &RelayDiscovery::discovered, &discovery,
                         [&answers](const RelayEndpoint &endpoint) { answers.append(endpoint); });
    }
};

void TstRelayDiscovery::reportsTheRunnersRelay()
{
    RunnerEnv env;
    QVERIFY(env.start());
    RestClient rest;
    rest.setBaseUrl(QUrl(env.httpUrl()));
    RelayDiscovery discovery(&rest);
    QList<RelayEndpoint> answers;
    collect(discovery, answers);

    QVERIFY(!discovery.isActive());
    discovery.start();
    QVERIFY(discovery.isActive());
    QTRY_COMPARE_WITH_TIMEOUT(answers.size(), 1, 10000);
    QVERIFY(!discovery.isActive());
    QVERIFY(answers.at(0).reported);
    QCOMPARE(answers.at(0).url, QUrl(env.relayUrl()));
    QVERIFY(answers.at(0).fallbackReason.isEmpty());
    QCOMPARE(rest.pendingRequests(), 0);
    QCOMPARE(answers.size(), 1);
}

void TstRelayDiscovery::cancelDropsTheAnswer()
{
    RunnerEnv env;
    QVERIFY(env.start());
    RestClient rest;
    rest.setBaseUrl(QUrl(env.httpUrl()));
    RelayDiscovery discovery(&rest);
    QList<RelayEndpoint> answers;
    collect(discovery, answers);

    discovery.start();
    QCOMPARE(rest.pendingRequests(), 1);
    discovery.cancel();
    QVERIFY(!discovery.isActive());
    QTRY_COMPARE_WITH_TIMEOUT(rest.pendingRequests(), 0, 10000); // the runner answered meanwhile...
    QCOMPARE(answers.size(), 0);                                 // ...and nobody was told
    QCOMPARE(discovery.attempts(), quint64(2));

    // The next attempt is answered as usual.
    discovery.start();
    QTRY_COMPARE_WITH_TIMEOUT(answers.size(), 1, 10000);
    QVERIFY(answers.at(0).reported);
}

void TstRelayDiscovery::onlyTheNewestAttemptIsAnswered()
{
    // A "runner" that accepts connections and never answers: both attempts time out, one is delivered.
    QTcpServer mute;
    QVERIFY(mute.listen(QHostAddress::LocalHost, 0));
    RestClient rest;
    rest.setBaseUrl(QUrl(u"http://127.0.0.1:%1"_s.arg(mute.serverPort())));
    rest.setDiscoveryTimeoutMs(300);
    RelayDiscovery discovery(&rest);
    QList<RelayEndpoint> answers;
    collect(discovery, answers);

    discovery.start();
    discovery.start(); // e.g. Connect pressed again while the first question is open
    QCOMPARE(rest.pendingRequests(), 2);
    QTRY_COMPARE_WITH_TIMEOUT(rest.pendingRequests(), 0, 5000);
    QCOMPARE(answers.size(), 1);
    QVERIFY(!discovery.isActive());
    const RelayEndpoint &guess = answers.at(0);
    QVERIFY(!guess.reported);
    QCOMPARE(guess.url, QUrl(u"ws://127.0.0.1:%1/"_s.arg(mute.serverPort() + 1)));
    QVERIFY2(guess.fallbackReason.contains(u"no answer"_s), qPrintable(guess.fallbackReason));
}

QTEST_GUILESS_MAIN(TstRelayDiscovery)
#include "tst_relaydiscovery.moc"
