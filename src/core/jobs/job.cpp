#include "core/jobs/job.h"

#include <algorithm>

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

qint64 Job::etaRemainingMs(qint64 nowMs) const
{
    if (isFinished() || etaMs < 0)
        return -1;
    return std::max<qint64>(0, etaMs - (nowMs - etaAtMs));
}

} // namespace cr
