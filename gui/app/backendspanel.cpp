#include "gui/app/backendspanel.h"

#include "gui/client/backendlistmodel.h"
#include "gui/client/backendpoller.h"
#include "gui/client/restclient.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

namespace cr::monitor {

BackendsPanel::BackendsPanel(RestClient *rest, JobTracker *tracker, QWidget *parent)
    : QWidget(parent), m_rest(rest), m_model(new BackendListModel(tracker, this)),
      m_poller(new BackendPoller(rest, m_model, this)), m_table(new QTableView(this)), m_follow(new QComboBox(this)),
      m_drain(new QPushButton(tr("Drain"), this)), m_status(new QLabel(this))
{
    m_table->setObjectName(QStringLiteral("backendTable"));
    m_table->setModel(m_model);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_follow->setObjectName(QStringLiteral("previewFollows"));
    m_follow->setToolTip(tr("Which backend's jobs the live preview follows"));
    m_drain->setObjectName(QStringLiteral("drainBackend"));
    m_drain->setToolTip(tr("Drain: no new jobs go to the selected backend, running ones finish"));
    m_status->setObjectName(QStringLiteral("backendStatus"));

    auto *bar = new QHBoxLayout;
    bar->setContentsMargins(0, 0, 0, 0);
    bar->addWidget(new QLabel(tr("Preview follows"), this));
    bar->addWidget(m_follow, 1);
    bar->addWidget(m_drain);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addLayout(bar);
    layout->addWidget(m_table, 1);
    layout->addWidget(m_status);

    connect(m_poller, &BackendPoller::updated, this, &BackendsPanel::onUpdated);
    connect(m_poller, &BackendPoller::unsupported, this,
            [this] { m_status->setText(tr("This runner has no backend pool (an older version).")); });
    connect(m_poller, &BackendPoller::failed, this,
            [this](const QString &message) { m_status->setText(tr("Backends: %1").arg(message)); });
    connect(m_model, &QAbstractItemModel::modelReset, this, &BackendsPanel::updateFollowChoices);
    connect(m_follow, &QComboBox::activated, this,
            [this](int i) { setFollowedBackend(m_follow->itemData(i).toString()); });
    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this, &BackendsPanel::updateDrainButton);
    connect(m_model, &QAbstractItemModel::dataChanged, this, &BackendsPanel::updateDrainButton);
    connect(m_drain, &QPushButton::clicked, this, &BackendsPanel::toggleDrain);
    updateFollowChoices();
    updateDrainButton();
}

QString BackendsPanel::followedBackend() const { return m_followed; }

void BackendsPanel::setFollowedBackend(const QString &name)
{
    if (name == m_followed)
        return;
    m_followed = name;
    updateFollowChoices();
    emit followedBackendChanged(name);
}

QString BackendsPanel::selectedBackend() const
{
    const QModelIndexList rows = m_table->selectionModel()->selectedRows();
    return rows.isEmpty() ? QString() : rows.first().data(BackendListModel::NameRole).toString();
}

void BackendsPanel::selectBackend(const QString &name)
{
    const int row = m_model->rowOf(name);
    if (row >= 0)
        m_table->selectRow(row);
}

QString BackendsPanel::statusText() const { return m_status->text(); }

void BackendsPanel::onUpdated()
{
    int connected = 0;
    for (const auto &b : m_model->backends())
        connected += b.connected ? 1 : 0;
    m_status->setText(tr("%1 of %2 backend(s) connected").arg(connected).arg(m_model->rowCount()));
}

void BackendsPanel::updateFollowChoices()
{
    const QSignalBlocker block(m_follow);
    m_follow->clear();
    m_follow->addItem(tr("All backends"), QString());
    QStringList names = m_model->names();
    if (!m_followed.isEmpty() && !names.contains(m_followed))
        names << m_followed; // chosen before the list arrived (restored settings)
    for (const QString &n : names)
        m_follow->addItem(n, n);
    m_follow->setCurrentIndex(qMax(0, m_follow->findData(m_followed)));
}

void BackendsPanel::updateDrainButton()
{
    const QString name = selectedBackend();
    const int row = m_model->rowOf(name);
    const bool draining = row >= 0 && m_model->backends().at(row).draining;
    m_drain->setEnabled(row >= 0);
    m_drain->setText(draining ? tr("Resume") : tr("Drain"));
}

void BackendsPanel::toggleDrain()
{
    const QString name = selectedBackend();
    const int row = m_model->rowOf(name);
    if (row < 0)
        return;
    const bool drain = !m_model->backends().at(row).draining;
    m_drain->setEnabled(false);
    m_rest->setBackendDraining(name, drain, this, [this, name](Result<BackendStatus> r) {
        if (!r)
            emit drainFailed(name, r.error().message);
        m_poller->refresh();
        updateDrainButton();
    });
}

} // namespace cr::monitor
