#include "core/jobs/job.h"

namespace cr {

QString jobStateName(JobState state)
{
    switch (state) {
    case JobState::Queued: return QStringLiteral("queued");
    case JobState::Running: return QStringLiteral("running");
    case JobState::Succeeded: return QStringLiteral("succeeded");
    case JobState::Failed: return QStringLiteral("failed");
    case JobState::Cancelled: return QStringLiteral("cancelled");
    case JobState::Lost: return QStringLiteral("lost");
    }
    return {};
}

std::optional<JobState> jobStateFromName(const QString &name)
{
    for (JobState s : {JobState::Queued, JobState::Running, JobState::Succeeded, JobState::Failed, JobState::Cancelled, JobState::Lost}) {
        if (jobStateName(s) == name)
            return s;
    }
    return std::nullopt;
}

qint64 Job::durationMs() const
{
    if (!startedAt.isValid())
        return 0;
    return startedAt.msecsTo(finishedAt.isValid() ? finishedAt : QDateTime::currentDateTimeUtc());
}

} // namespace cr
