#include "gui/client/backoff.h"

#include <QRandomGenerator>
#include <QtGlobal>

#include <algorithm>

namespace cr::monitor {

Backoff::Backoff(int initialMs, int maxMs, double factor, double jitter)
    : m_initialMs(qMax(1, initialMs)), m_maxMs(qMax(m_initialMs, maxMs)), m_factor(qMax(1.0, factor)),
      m_jitter(std::clamp(jitter, 0.0, 1.0)), m_currentMs(m_initialMs)
{ }

int Backoff::next()
{
    const double base = m_currentMs;
    m_currentMs = qMin(double(m_maxMs), m_currentMs * m_factor);
    ++m_attempts;
    if (m_jitter <= 0)
        return int(base);
    const double scale = 1.0 - m_jitter * QRandomGenerator::global()->generateDouble();
    return qMax(1, int(base * scale));
}

int Backoff::peek() const { return int(m_currentMs); }

void Backoff::reset()
{
    m_currentMs = m_initialMs;
    m_attempts = 0;
}

} // namespace cr::monitor
