#pragma once
// The gallery of final outputs, fetched through the runner (GET /api/v1/jobs/{id}/outputs/{n}): newest
// first, thumbnails only (bounded to `capacity` items); double-click shows the image full size.

#include "gui/client/monitortypes.h"

#include <QListWidget>

namespace cr::monitor {

class GalleryView final : public QListWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(GalleryView)

public:
    explicit GalleryView(QWidget *parent = nullptr);

    void setCapacity(int items) { m_capacity = qMax(1, items); }
    // Adds the output (decoded here; outputs are rare and small next to previews). False if unreadable.
    bool addOutput(const DownloadedOutput &file);
    bool contains(const QString &jobId, int index) const;
    QStringList jobIds() const; // of the items, newest first

signals:
    void outputAdded(const QString &jobId, int index);

private:
    void showFull(QListWidgetItem *item);
    int m_capacity = 48;
};

} // namespace cr::monitor
