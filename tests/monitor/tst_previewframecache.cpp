// PreviewFrameCache, the window's newest preview per job: a job's image and frame number are kept and
// replaced together, and both are evicted together once more jobs sent previews than the bound (before,
// the frame numbers were never evicted and grew with every job ever previewed).

#include "gui/app/previewframecache.h"

#include <QtTest>

using namespace cr::monitor;

class TstPreviewFrameCache : public QObject
{
    Q_OBJECT

private slots:
    void keepsTheNewestFramePerJob();
    void evictsTheOldestJobWholly();
};

void TstPreviewFrameCache::keepsTheNewestFramePerJob()
{
    PreviewFrameCache cache(4);
    QImage red(2, 2, QImage::Format_RGB32), blue(3, 3, QImage::Format_RGB32);
    red.fill(Qt::red);
    blue.fill(Qt::blue);
    QVERIFY(!cache.find(QStringLiteral("a")));
    cache.insert(QStringLiteral("a"), red, 1);
    cache.insert(QStringLiteral("a"), blue, 7);
    QCOMPARE(cache.size(), 1);
    const PreviewFrameCache::Frame *f = cache.find(QStringLiteral("a"));
    QVERIFY(f);
    QCOMPARE(f->number, quint64(7));
    QCOMPARE(f->image, blue);
    cache.clear();
    QCOMPARE(cache.size(), 0);
    QVERIFY(!cache.find(QStringLiteral("a")));
}

void TstPreviewFrameCache::evictsTheOldestJobWholly()
{
    PreviewFrameCache cache(3);
    QImage img(1, 1, QImage::Format_RGB32);
    img.fill(Qt::green);
    for (int i = 0; i < 50; ++i) {
        const QString job = QStringLiteral("job-%1").arg(i);
        cache.insert(job, img, quint64(i));
        cache.insert(job, img, quint64(i) + 100); // more frames of the same job do not count twice
        QVERIFY(cache.size() <= 3);
    }
    QCOMPARE(cache.size(), 3);
    for (int i = 0; i < 47; ++i)
        QVERIFY(!cache.find(QStringLiteral("job-%1").arg(i)));
    for (int i = 47; i < 50; ++i) {
        const PreviewFrameCache::Frame *f = cache.find(QStringLiteral("job-%1").arg(i));
        QVERIFY(f);
        QCOMPARE(f->number, quint64(i) + 100);
    }
}

QTEST_GUILESS_MAIN(TstPreviewFrameCache)
#include "tst_previewframecache.moc"
