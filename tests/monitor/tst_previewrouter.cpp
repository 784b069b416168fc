// PreviewRouter between a real RelayServer/EventHub (port 0) and the preview view (offscreen): while
// following, every job's frames are decoded and the newest one is shown; each job's newest frame is
// cached, so selecting a job shows its last frame at once (a job without frames: a waiting message);
// while a chosen job is watched and following is off, other jobs' frames are not even decoded; another
// runner (clear) forgets the cache.

#include "core/relay/eventhub.h"
#include "core/relay/relayserver.h"
#include "gui/app/previewdecoder.h"
#include "gui/app/previewrouter.h"
#include "gui/app/previewview.h"
#include "gui/client/relayclient.h"

#include <QBuffer>
#include <QImage>
#include <QTest>

using namespace cr::monitor;
using namespace Qt::StringLiterals;

namespace {

// A PNG of `size` x `size` pixels: the size tells the frames of the jobs apart after decoding.
QByteArray png(int size)
{
    QImage image(size, size, QImage::Format_RGB32);
    image.fill(Qt::darkCyan);
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    image.save(&buffer, "PNG");
    return bytes;
}

} // namespace

class TstPreviewRouter : public QObject
{
    Q_OBJECT

private slots:
    void routesCachesAndFilters();

private:
    void publish(cr::EventHub &hub, const QString &job, int size)
    {
        cr::protocol::PreviewFrame frame;
        frame.format = cr::protocol::ImageFormat::Png;
        frame.image = png(size);
        frame.meta.promptId = job;
        frame.meta.nodeId = u"3"_s;
        hub.publishPreview(frame, job);
    }
};

void TstPreviewRouter::routesCachesAndFilters()
{
    cr::EventHub hub;
    cr::RelaySettings settings;
    settings.host = u"127.0.0.1"_s;
    settings.port = 0;
    cr::RelayServer server(&hub, settings, QString());
    QVERIFY(server.listen());
    RelayClient relay;
    relay.setUrl(QUrl(u"ws://127.0.0.1:%1/"_s.arg(server.port())));
    relay.open();
    QTRY_COMPARE_WITH_TIMEOUT(relay.state(), RelayClient::State::Connected, 5000);

    PreviewDecoder decoder;
    PreviewView view;
    PreviewRouter router(&relay, &decoder, &view);
    const QString a = u"job-a"_s, b = u"job-b"_s;

    // Following, nothing selected: each frame is shown, each job's newest is cached.
    publish(hub, a, 32);
    QTRY_COMPARE_WITH_TIMEOUT(view.jobId(), a, 5000);
    QCOMPARE(view.image().size(), QSize(32, 32));
    publish(hub, b, 48);
    QTRY_COMPARE_WITH_TIMEOUT(view.jobId(), b, 5000);
    QCOMPARE(view.image().size(), QSize(48, 48));
    QCOMPARE(router.cache().size(), 2);
    const quint64 numberOfA = router.cache().find(a)->number;

    // Selecting a job shows its cached frame at once (no new frame needed).
    router.selectJob(a);
    QCOMPARE(router.selectedJob(), a);
    QCOMPARE(view.jobId(), a);
    QCOMPARE(view.image().size(), QSize(32, 32));
    QCOMPARE(view.frameNumber(), numberOfA);

    // Still following: b's next frame is decoded and cached, but a stays on screen.
    publish(hub, b, 40);
    QTRY_COMPARE_WITH_TIMEOUT(router.cache().find(b)->image.size(), QSize(40, 40), 5000);
    QCOMPARE(view.jobId(), a);

    // Not following: b's frames are dropped before the decoder.
    router.setFollowNewest(false);
    const quint64 submitted = decoder.submitted();
    const quint64 received = relay.previewsReceived();
    publish(hub, b, 56);
    QTRY_COMPARE_WITH_TIMEOUT(relay.previewsReceived(), received + 1, 5000);
    QCOMPARE(decoder.submitted(), submitted);
    QCOMPARE(router.cache().find(b)->image.size(), QSize(40, 40));
    publish(hub, a, 24); // the watched job's frames still come through
    QTRY_COMPARE_WITH_TIMEOUT(view.image().size(), QSize(24, 24), 5000);

    // A job without frames: nothing to show yet.
    router.selectJob(u"job-c"_s);
    QVERIFY(view.image().isNull());

    // Another runner: the cache is gone.
    router.clear();
    QCOMPARE(router.cache().size(), 0);
    router.selectJob(a);
    QVERIFY(view.image().isNull());
    relay.close();
}

QTEST_MAIN(TstPreviewRouter)
#include "tst_previewrouter.moc"
