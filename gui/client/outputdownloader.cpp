#include "gui/client/outputdownloader.h"

#include "gui/client/restclient.h"

namespace cr::monitor {

OutputDownloader::OutputDownloader(RestClient *rest, QObject *parent) : QObject(parent), m_rest(rest) { }

void OutputDownloader::fetch(const JobInfo &job)
{
    for (const JobOutput &out : job.outputs) {
        QSet<int> &requested = m_requests[job.id];
        if (!out.isImage() || requested.contains(out.index))
            continue;
        requested.insert(out.index);
        const QString filename = out.filename;
        m_rest->fetchOutput(job.id, out.index, this, [this, filename](Result<DownloadedOutput> r) {
            if (!r)
                return; // logged by the REST client
            DownloadedOutput f = *r;
            if (f.filename.isEmpty())
                f.filename = filename;
            emit fetched(f);
        });
    }
}

void OutputDownloader::forget(const QString &jobId) { m_requests.remove(jobId); }

void OutputDownloader::clear() { m_requests.clear(); }

int OutputDownloader::requestCount() const
{
    int n = 0;
    for (const QSet<int> &indices : m_requests)
        n += int(indices.size());
    return n;
}

} // namespace cr::monitor
