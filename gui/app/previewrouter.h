#pragma once
// The path of live previews from the relay to the preview view: frames of the job being watched (or of
// any job while following the newest, of one backend or all) go to the decoder; each decoded frame is kept as its job's
// newest (PreviewFrameCache) and shown when it belongs to the selected job, so that selecting a job shows its last
// frame at once.

#include "gui/app/previewframecache.h"

#include <QObject>
#include <QString>

namespace cr::monitor {

class PreviewDecoder;
class PreviewView;
class RelayClient;

class PreviewRouter final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(PreviewRouter)

public:
    // All not owned; relay and decoder are watched.
    PreviewRouter(RelayClient *relay, PreviewDecoder *decoder, PreviewView *view, QObject *parent = nullptr);

    // The job whose frames the view shows (empty: any); shows its cached frame, else a waiting message.
    void selectJob(const QString &jobId);
    QString selectedJob() const { return m_selected; }
    // Following the newest job: frames of other jobs than the selected one are decoded too.
    void setFollowNewest(bool follow) { m_follow = follow; }
    // Only frames made by this backend of the runner's pool ("" = every backend); the selected job's
    // frames are always shown.
    void setFollowedBackend(const QString &backend) { m_backend = backend; }
    QString followedBackend() const { return m_backend; }
    // Another runner: its jobs' frames are not these.
    void clear();
    const PreviewFrameCache &cache() const { return m_frames; }

signals:
    void frameDecoded(); // a decoded frame was cached (and shown if selected)

private:
    void onPreviewAvailable();
    void onDecoded();

    RelayClient *m_relay;
    PreviewDecoder *m_decoder;
    PreviewView *m_view;
    PreviewFrameCache m_frames; // the newest decoded frame per job (bounded)
    QString m_selected;
    bool m_follow = true;
    QString m_backend;
};

} // namespace cr::monitor
