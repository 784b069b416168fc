#pragma once
// Downloads the image outputs of jobs (GET /api/v1/jobs/{id}/outputs/{index}), each at most once: the
// indices fetched or in flight are remembered per job until the job is forgotten.

#include "gui/client/monitortypes.h"

#include <QHash>
#include <QObject>
#include <QSet>

namespace cr::monitor {

class RestClient;

class OutputDownloader final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(OutputDownloader)

public:
    // rest: not owned; must outlive the downloader.
    explicit OutputDownloader(RestClient *rest, QObject *parent = nullptr);

    // Starts the downloads of the job's image outputs not asked for yet.
    void fetch(const JobInfo &job);
    void forget(const QString &jobId); // the job went: its outputs may be asked for again
    void clear();
    int requestCount() const; // outputs fetched or in flight

signals:
    void fetched(const cr::monitor::DownloadedOutput &file);

private:
    RestClient *m_rest;
    QHash<QString, QSet<int>> m_requests; // job -> output indices fetched or in flight
};

} // namespace cr::monitor
