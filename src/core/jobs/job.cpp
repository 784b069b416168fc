#include "core/jobs/job.h"

namespace cr {

qint64 Job::durationMs() const
{
    if (!startedAt.isValid())
        return 0;
    return startedAt.msecsTo(finishedAt.isValid() ? finishedAt : QDateTime::currentDateTimeUtc());
}

} // namespace cr
