#include "gui/app/eventlogview.h"

#include "gui/app/theme.h"
#include "gui/client/eventlogmodel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QScrollBar>
#include <QStyledItemDelegate>
#include <QTimer>
#include <QVBoxLayout>

namespace cr::monitor {

namespace {

// Colours warnings and errors from the palette-aware theme.
class LevelDelegate final : public QStyledItemDelegate
{
public:
    using QStyledItemDelegate::QStyledItemDelegate;

protected:
    void initStyleOption(QStyleOptionViewItem *option, const QModelIndex &index) const override
    {
        QStyledItemDelegate::initStyleOption(option, index);
        const auto level = LogEntry::Level(index.data(EventLogModel::LevelRole).toInt());
        if (level == LogEntry::Level::Error)
            option->palette.setColor(QPalette::Text, theme::errorColor(option->palette));
        else if (level == LogEntry::Level::Warning)
            option->palette.setColor(QPalette::Text, theme::warningColor(option->palette));
    }
};

} // namespace

EventLogView::EventLogView(EventLogModel *model, QWidget *parent)
    : QWidget(parent), m_model(model), m_filter(new EventLogFilter(this)), m_text(new QLineEdit(this)),
      m_category(new QComboBox(this)), m_hideProgress(new QCheckBox(tr("Hide progress"), this)),
      m_list(new QListView(this))
{
    setObjectName(QStringLiteral("eventLog"));
    m_filter->setSourceModel(model);
    m_text->setPlaceholderText(tr("Filter (type, job id or text)"));
    m_text->setClearButtonEnabled(true);
    m_category->addItem(tr("All events"), QString());
    m_category->addItem(tr("ComfyUI"), QStringLiteral("comfy"));
    m_category->addItem(tr("Jobs"), QStringLiteral("job"));
    m_category->addItem(tr("Relay"), QStringLiteral("relay"));
    m_category->addItem(tr("REST"), QStringLiteral("rest"));
    m_list->setModel(m_filter);
    m_list->setUniformItemSizes(true);
    m_list->setAlternatingRowColors(true);
    m_list->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_list->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_list->setItemDelegate(new LevelDelegate(m_list));
    m_list->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));

    auto *bar = new QHBoxLayout;
    bar->addWidget(m_text, 1);
    bar->addWidget(m_category);
    bar->addWidget(m_hideProgress);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(bar);
    layout->addWidget(m_list, 1);

    connect(m_text, &QLineEdit::textChanged, m_filter, &EventLogFilter::setText);
    connect(m_category, &QComboBox::currentIndexChanged, this,
            [this] { m_filter->setCategory(m_category->currentData().toString()); });
    connect(m_hideProgress, &QCheckBox::toggled, m_filter, &EventLogFilter::setHideProgress);

    // Follow the end while the user is there; appends come in bursts, so scroll once per burst.
    auto *follow = new QTimer(this);
    follow->setSingleShot(true);
    follow->setInterval(50);
    connect(follow, &QTimer::timeout, m_list, &QListView::scrollToBottom);
    connect(m_filter, &QAbstractItemModel::rowsInserted, this, [this, follow] {
        const QScrollBar *bar = m_list->verticalScrollBar();
        if (bar->value() >= bar->maximum() - 2 && !follow->isActive())
            follow->start();
    });
}

int EventLogView::visibleRows() const { return m_filter->rowCount(); }

void EventLogView::setFilterText(const QString &text) { m_text->setText(text); }

void EventLogView::setHideProgress(bool hide) { m_hideProgress->setChecked(hide); }

bool EventLogView::hideProgress() const { return m_hideProgress->isChecked(); }

} // namespace cr::monitor
