#pragma once
// JSON at the API's edge: request bodies parsed in one place (invalid_json / invalid_request errors with the
// offset), and the JSON shape of a job.

#include "core/api/apiexchange.h"
#include "core/jobs/job.h"
#include "protocol/jobrecord.h"

#include <QHash>
#include <QJsonArray>
#include <QJsonObject>

namespace cr {

// The body as a JSON object. An empty body gives {} when allowEmpty, else invalid_json.
Result<QJsonObject> parseJsonObject(const ApiRequest &request, bool allowEmpty = false);
// The string field `key`: missing_field when absent/empty and required, type_mismatch when not a string.
Result<QString> stringField(const QJsonObject &body, const QString &key, bool required);
// The query integer `key` into *out: `def` when absent, invalid_request (details.field) unless it is a
// canonical number from `min` to `max` (the paging of the list routes: offset, limit).
Status queryInt(const ApiRequest &request, const char *key, int def, int min, int max, int *out);
// One page of a list route: {key: items, "total", "offset", "limit"}.
QJsonObject pageJson(const QString &key, const QJsonArray &items, int total, int offset, int limit);

using protocol::isoUtc;                             // "2024-05-01T12:00:00.123Z", or "" when invalid (-> null)
QString outputUrl(const QString &jobId, int index); // "/api/v1/jobs/{id}/outputs/{index}"

// The job as the API shows it (the wire model, protocol::JobRecord): output URLs filled in, duration so far.
protocol::JobRecord jobRecord(const Job &job);
// protocol::encodeJob(jobRecord(job)): {id, client_ref, workflow, state, created_at, started_at, finished_at,
// duration_ms, progress, outputs, error, reason, cancel_requested}
QJsonObject jobToJson(const Job &job);
// jobToJson(job) as compact JSON bytes. A finished job rarely changes (an attempt found to have run anyway is
// marked superseded; every change bumps Job::revision), so its bytes are kept per revision and served as they
// are: GET /api/v1/jobs/{id} of a finished job builds no JSON. At most kMaxEntries are kept (then it starts over).
class JobBodyCache
{
public:
    QByteArray body(const Job &job);

private:
    struct Entry {
        quint64 revision = 0; // what it was made from: the job's revision and end (a pruned id never comes back,
        QDateTime finishedAt; // but the check is cheap)
        QByteArray bytes;
    };
    static constexpr qsizetype kMaxEntries = 4096;
    QHash<QString, Entry> m_entries;
};

} // namespace cr
