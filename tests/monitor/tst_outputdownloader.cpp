// OutputDownloader against a real comfy_runner Service and the fake ComfyUI: the image outputs of a job that
// succeeded are downloaded (bytes, job, index, file name), each once however often the job is offered, and
// again only after the job was forgotten; a job without outputs asks for nothing.

#include "gui/client/outputdownloader.h"
#include "gui/client/restclient.h"
#include "runnerenv.h"

#include <QSignalSpy>
#include <QTest>

using cr::testing::RunnerEnv;
using namespace cr::monitor;
using namespace Qt::StringLiterals;

class TstOutputDownloader : public QObject
{
    Q_OBJECT

private slots:
    void downloadsEachOutputOnce();
};

void TstOutputDownloader::downloadsEachOutputOnce()
{
    RunnerEnv env;
    QVERIFY(env.start());
    env.fake().setSteps(2);
    env.fake().setStepIntervalMs(5);
    RestClient rest;
    rest.setBaseUrl(QUrl(env.httpUrl()));

    // A job that ran to the end, with its final record (outputs listed).
    QString id;
    rest.createJob(u"sd15_txt2img"_s, {}, &rest, [&id](cr::Result<JobInfo> r) {
        if (r)
            id = r->id;
    });
    QTRY_VERIFY_WITH_TIMEOUT(!id.isEmpty(), 10000);
    JobInfo done;
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            if (done.state != JobState::Succeeded && rest.pendingRequests() == 0)
                rest.getJob(id, &rest, [&done](cr::Result<JobInfo> r) {
                    if (r)
                        done = *r;
                });
            return done.state == JobState::Succeeded;
        }(),
        20000);
    QTRY_COMPARE_WITH_TIMEOUT(rest.pendingRequests(), 0, 10000);
    QVERIFY(!done.outputs.isEmpty());
    int images = 0;
    for (const JobOutput &out : done.outputs)
        images += out.isImage() ? 1 : 0;
    QVERIFY(images > 0);

    OutputDownloader downloads(&rest);
    QSignalSpy fetched(&downloads, &OutputDownloader::fetched);
    JobInfo none = done;
    none.outputs.clear();
    downloads.fetch(none);
    QCOMPARE(downloads.requestCount(), 0);
    QCOMPARE(rest.pendingRequests(), 0);

    downloads.fetch(done);
    downloads.fetch(done); // already asked for: nothing more
    QCOMPARE(downloads.requestCount(), images);
    QCOMPARE(rest.pendingRequests(), images);
    QTRY_COMPARE_WITH_TIMEOUT(fetched.count(), images, 10000);
    const auto file = fetched.at(0).at(0).value<DownloadedOutput>();
    QCOMPARE(file.jobId, id);
    QVERIFY(!file.filename.isEmpty());
    QVERIFY(file.bytes.startsWith("\x89PNG"));
    downloads.fetch(done);
    QCOMPARE(rest.pendingRequests(), 0);

    downloads.forget(id); // the job went: offered again, it is fetched again
    QCOMPARE(downloads.requestCount(), 0);
    downloads.fetch(done);
    QCOMPARE(downloads.requestCount(), images);
    QTRY_COMPARE_WITH_TIMEOUT(fetched.count(), 2 * images, 10000);
    downloads.clear();
    QCOMPARE(downloads.requestCount(), 0);
}

QTEST_GUILESS_MAIN(TstOutputDownloader)
#include "tst_outputdownloader.moc"
