#include "core/jobs/etaestimator.h"

#include <algorithm>
#include <cmath>

namespace cr {

namespace {

QString key(const QString &workflowKey, const QString &backend) { return workflowKey + QLatin1Char('\n') + backend; }

void keepLast(QList<qint64> &values, qint64 v)
{
    values.append(v);
    while (values.size() > EtaEstimator::kHistory)
        values.removeFirst();
}

} // namespace

qint64 EtaEstimator::Cadence::msPerStep() const
{
    if (lastValue <= firstValue || lastAtMs <= firstAtMs)
        return -1;
    return qint64(std::llround(double(lastAtMs - firstAtMs) / (lastValue - firstValue)));
}

void EtaEstimator::Cadence::step(const QString &stepNode, double value, double stepMax, qint64 nowMs)
{
    if (stepNode != node || value < lastValue || stepMax != max) { // another sampler (or it started over)
        node = stepNode;
        firstValue = lastValue = value;
        firstAtMs = lastAtMs = nowMs;
        max = stepMax;
        return;
    }
    lastValue = value;
    lastAtMs = nowMs;
}

void EtaEstimator::recordRun(const QString &workflowKey, const QString &backend, qint64 durationMs, qint64 tailMs)
{
    if (durationMs < 0)
        return;
    for (const QString &k : {key(workflowKey, backend), key(workflowKey, QStringLiteral("*"))}) {
        Runs &r = m_runs[k];
        keepLast(r.durations, durationMs);
        if (tailMs >= 0)
            keepLast(r.tails, tailMs);
    }
}

qint64 EtaEstimator::median(QList<qint64> values)
{
    if (values.isEmpty())
        return -1;
    std::sort(values.begin(), values.end());
    const qsizetype n = values.size();
    return n % 2 ? values.at(n / 2) : (values.at(n / 2 - 1) + values.at(n / 2)) / 2;
}

qint64 EtaEstimator::typicalMs(const QString &workflowKey, const QString &backend) const
{
    const auto own = m_runs.constFind(key(workflowKey, backend));
    if (own != m_runs.cend() && !own->durations.isEmpty())
        return median(own->durations);
    const auto any = m_runs.constFind(key(workflowKey, QStringLiteral("*")));
    return any != m_runs.cend() ? median(any->durations) : -1;
}

qint64 EtaEstimator::typicalTailMs(const QString &workflowKey, const QString &backend) const
{
    const auto own = m_runs.constFind(key(workflowKey, backend));
    if (own != m_runs.cend() && !own->tails.isEmpty())
        return median(own->tails);
    const auto any = m_runs.constFind(key(workflowKey, QStringLiteral("*")));
    return any != m_runs.cend() && !any->tails.isEmpty() ? median(any->tails) : 0;
}

qint64 EtaEstimator::runningEta(qint64 nowMs, qint64 elapsedMs, const Cadence *cadence, qint64 typicalMs, qint64 tailMs)
{
    qint64 byCadence = -1;
    double weight = 0; // of the cadence estimate
    if (cadence && cadence->max > 0) {
        const qint64 perStep = cadence->msPerStep();
        if (perStep >= 0) {
            const double remaining = std::max(0.0, cadence->max - cadence->lastValue);
            const qint64 intoStep = std::max<qint64>(0, nowMs - cadence->lastAtMs);
            const qint64 fromLastStep = qint64(std::llround(remaining * double(perStep))) + std::max<qint64>(0, tailMs);
            byCadence = std::max<qint64>(0, fromLastStep - intoStep);
            weight = std::clamp(cadence->lastValue / cadence->max, 0.0, 1.0);
        }
    }
    const qint64 byHistory = typicalMs >= 0 ? typicalMs - elapsedMs : -1;
    if (byCadence < 0)
        return byHistory < 0 ? (typicalMs >= 0 ? 0 : -1) : byHistory;
    if (byHistory < 0) // no history, or the run already takes longer than usual: the steps tell
        return byCadence;
    return qint64(std::llround(weight * double(byCadence) + (1 - weight) * double(byHistory)));
}

} // namespace cr
