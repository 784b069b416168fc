// One Backend on its own, around a ComfyClient it does not own (the pool of one): the capability reads it
// starts (GET /system_stats, /object_info, /models) may still be on the wire when it goes, and their
// answers then reach the client's ComfyHttp, which lives on. They must find nothing of the Backend (under
// ASan the old code read the freed Backend: heap-use-after-free in the /object_info callback).

#include "core/comfy/comfyclient.h"
#include "core/pool/backendpool.h"
#include "sim/fakecomfy.h"

#include <QtTest>

#include <memory>

using namespace cr;

class TstBackend : public QObject
{
    Q_OBJECT

private slots:
    void capabilityReadsOutliveTheBackend();
};

void TstBackend::capabilityReadsOutliveTheBackend()
{
    sim::FakeComfy fake;
    QVERIFY(fake.listen());
    ComfySettings s;
    s.url = fake.httpUrl();
    s.requestTimeoutMs = 5000;
    s.pingIntervalMs = 100;
    s.reconnectMaxMs = 200;
    ComfyClient client(s, QStringLiteral("backend-test"));
    for (int round = 0; round < 3; ++round) {
        client.start(); // again: a pool stops its backends' clients when it goes
        QVERIFY(QTest::qWaitFor([&] { return client.state() == ConnectionState::Connected; }, 5000));
        const int answered = int(fake.requestLog().count(QStringLiteral("GET /object_info")));
        auto pool = std::make_unique<BackendPool>(&client); // connected: its Backend starts reading at once
        QCOMPARE(pool->backends().size(), 1);
        pool.reset(); // gone before any answer came
        // Our own /object_info read joins the Backend's (one request, its waiters answered in order): once ours
        // is answered, the Backend's callback has run too.
        bool objectInfo = false;
        client.http()->objectInfo([&](Result<QJsonObject> r) { objectInfo = bool(r); });
        QVERIFY(QTest::qWaitFor([&] { return objectInfo; }, 5000));
        QVERIFY(int(fake.requestLog().count(QStringLiteral("GET /object_info"))) > answered);
        // The /models reads (the list, then a folder) are answered after the Backend went, too.
        bool models = false;
        client.http()->models(QStringLiteral("checkpoints"), [&](Result<QStringList> r) { models = bool(r); });
        QVERIFY(QTest::qWaitFor([&] { return models; }, 5000));
        client.http()->forgetObjectInfo();
    }
}

QTEST_GUILESS_MAIN(TstBackend)
#include "tst_backend.moc"
