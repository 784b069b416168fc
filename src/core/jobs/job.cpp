#include "core/jobs/job.h"

namespace cr {

qint64 Job::durationMs() const
{
    if (!startedAt.isValid())
        return 0;
    return startedAt.msecsTo(finishedAt.isValid() ? finishedAt : QDateTime::currentDateTimeUtc());
}

const JobAttempt *Job::currentAttempt() const
{
    return !attempts.isEmpty() && attempts.last().isCurrent() ? &attempts.last() : nullptr;
}

JobAttempt *Job::currentAttempt()
{
    return !attempts.isEmpty() && attempts.last().isCurrent() ? &attempts.last() : nullptr;
}

QString Job::backend() const { return attempts.isEmpty() ? QString() : attempts.last().backend; }

int Job::attemptsThatRan() const
{
    int n = 0;
    for (const JobAttempt &a : attempts)
        n += a.startedAt.isValid() ? 1 : 0;
    return n;
}

} // namespace cr
