#include "gui/client/backendpoller.h"

#include "gui/client/backendlistmodel.h"
#include "gui/client/restclient.h"

namespace cr::monitor {

BackendPoller::BackendPoller(RestClient *rest, BackendListModel *model, QObject *parent)
    : QObject(parent), m_rest(rest), m_model(model)
{
    m_timer.setInterval(2000);
    connect(&m_timer, &QTimer::timeout, this, &BackendPoller::refresh);
}

void BackendPoller::start()
{
    ++m_epoch;
    m_inFlight = false;
    m_running = true;
    m_supported = true;
    m_timer.start();
    refresh();
}

void BackendPoller::stop()
{
    ++m_epoch;
    m_inFlight = false;
    m_running = false;
    m_timer.stop();
}

void BackendPoller::clear()
{
    stop();
    m_model->setBackends({});
}

void BackendPoller::refresh()
{
    if (!m_running || m_inFlight || !m_supported)
        return;
    m_inFlight = true;
    const quint64 epoch = m_epoch;
    m_rest->listBackends(this, [this, epoch](Result<QList<protocol::BackendStatus>> r) {
        if (epoch != m_epoch)
            return;
        m_inFlight = false;
        if (r) {
            m_model->setBackends(*r);
            emit updated(int(r->size()));
            return;
        }
        if (r.error().details.value(QLatin1String("http_status")).toInt() == 404) {
            m_supported = false;
            m_timer.stop();
            emit unsupported();
            return;
        }
        emit failed(r.error().message);
    });
}

} // namespace cr::monitor
