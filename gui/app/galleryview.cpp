#include "gui/app/galleryview.h"

#include <QDialog>
#include <QImage>
#include <QLabel>
#include <QPixmap>
#include <QScrollArea>
#include <QVBoxLayout>

namespace cr::monitor {

namespace {
constexpr int kThumb = 180;
constexpr int kBytesRole = Qt::UserRole + 1; // the encoded file (decoded again for the full view)
constexpr int kJobRole = Qt::UserRole + 2;
constexpr int kIndexRole = Qt::UserRole + 3;
} // namespace

GalleryView::GalleryView(QWidget *parent) : QListWidget(parent)
{
    setObjectName(QStringLiteral("gallery"));
    setViewMode(QListView::IconMode);
    setIconSize(QSize(kThumb, kThumb));
    setGridSize(QSize(kThumb + 16, kThumb + 34));
    setResizeMode(QListView::Adjust);
    setMovement(QListView::Static);
    setWrapping(true);
    setUniformItemSizes(true);
    setWordWrap(false);
    setTextElideMode(Qt::ElideMiddle);
    connect(this, &QListWidget::itemDoubleClicked, this, &GalleryView::showFull);
}

bool GalleryView::addOutput(const DownloadedOutput &file)
{
    if (contains(file.jobId, file.index))
        return true;
    QImage image = QImage::fromData(file.bytes);
    if (image.isNull())
        return false;
    const QPixmap thumb
        = QPixmap::fromImage(image.scaled(kThumb, kThumb, Qt::KeepAspectRatio, Qt::SmoothTransformation));
    auto *item = new QListWidgetItem(QIcon(thumb),
                                     file.filename.isEmpty() ? QStringLiteral("#%1").arg(file.index) : file.filename);
    item->setToolTip(tr("job %1, output %2\n%3 (%4×%5)")
                         .arg(file.jobId)
                         .arg(file.index)
                         .arg(file.filename)
                         .arg(image.width())
                         .arg(image.height()));
    item->setData(kBytesRole, file.bytes);
    item->setData(kJobRole, file.jobId);
    item->setData(kIndexRole, file.index);
    item->setSizeHint(gridSize());
    insertItem(0, item);
    while (count() > m_capacity)
        delete takeItem(count() - 1);
    emit outputAdded(file.jobId, file.index);
    return true;
}

bool GalleryView::contains(const QString &jobId, int index) const
{
    for (int i = 0; i < count(); ++i)
        if (item(i)->data(kJobRole).toString() == jobId && item(i)->data(kIndexRole).toInt() == index)
            return true;
    return false;
}

QStringList GalleryView::jobIds() const
{
    QStringList out;
    for (int i = 0; i < count(); ++i)
        out.append(item(i)->data(kJobRole).toString());
    return out;
}

void GalleryView::showFull(QListWidgetItem *item)
{
    const QImage image = QImage::fromData(item->data(kBytesRole).toByteArray());
    if (image.isNull())
        return;
    auto *dialog = new QDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(item->text());
    auto *label = new QLabel;
    label->setPixmap(QPixmap::fromImage(image));
    auto *scroll = new QScrollArea(dialog);
    scroll->setWidget(label);
    scroll->setAlignment(Qt::AlignCenter);
    auto *layout = new QVBoxLayout(dialog);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(scroll);
    dialog->resize(qMin(image.width() + 24, 1200), qMin(image.height() + 24, 900));
    dialog->show();
}

} // namespace cr::monitor
