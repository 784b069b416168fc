#pragma once
// Estimates how long a job still takes (eta_ms): from the step cadence of its running sampler (the time per
// step of the `progress` events so far), the history of durations of the same workflow on the same backend
// (any backend when that one has none yet), and, for a job that waits, the work queued ahead of it. Pure
// bookkeeping on milliseconds given by the caller, so tests drive the clock.

#include <QHash>
#include <QList>
#include <QString>

namespace cr {

class EtaEstimator
{
public:
    static constexpr int kHistory = 20; // runs kept per workflow and backend

    // The sampler's steps as they arrive: one `progress` event (value of max) of `node` at `nowMs`.
    struct Cadence {
        QString node;
        double firstValue = 0, lastValue = 0, max = 0;
        qint64 firstAtMs = 0, lastAtMs = 0;
        qint64 msPerStep() const; // -1 until two steps were seen
        void step(const QString &node, double value, double max, qint64 nowMs);
    };

    // A succeeded run: its duration and the time it took after its last sampler step (-1 unknown).
    void recordRun(const QString &workflowKey, const QString &backend, qint64 durationMs, qint64 tailMs);
    // The median duration on that backend, else over all backends; -1 when there is no history.
    qint64 typicalMs(const QString &workflowKey, const QString &backend) const;
    // The median time after the last sampler step, likewise; 0 when unknown.
    qint64 typicalTailMs(const QString &workflowKey, const QString &backend) const;

    // A running job: `elapsedMs` since it started, its sampler's cadence (nullptr: none yet), the typical
    // duration and tail (typicalMs / typicalTailMs). The cadence estimate (remaining steps x time per step
    // plus the tail, less the time since the last step) and the history's (typical - elapsed)
    // are blended by the sampler's progress: early on the history counts most, near the end the cadence.
    // -1 when neither is known.
    static qint64 runningEta(qint64 nowMs, qint64 elapsedMs, const Cadence *cadence, qint64 typicalMs, qint64 tailMs);

private:
    struct Runs {
        QList<qint64> durations, tails;
    };
    static qint64 median(QList<qint64> values);
    QHash<QString, Runs> m_runs; // "workflowKey\nbackend" and "workflowKey\n*" (every backend)
};

} // namespace cr
