#include "gui/app/jobtableview.h"

#include "gui/app/theme.h"
#include "gui/client/joblistmodel.h"

#include <QApplication>
#include <QHeaderView>
#include <QMouseEvent>
#include <QPainter>

namespace cr::monitor {

namespace {

QRect buttonRect(const QRect &cell) { return cell.adjusted(4, 3, -4, -3); }

} // namespace

void JobDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    if (index.column() == JobListModel::CancelColumn) {
        const QWidget *widget = option.widget;
        QStyle *style = widget ? widget->style() : QApplication::style();
        QStyleOptionViewItem cell = option; // the row's background (selection, alternate colour), no text
        initStyleOption(&cell, index);
        cell.text.clear();
        style->drawControl(QStyle::CE_ItemViewItem, &cell, painter, widget);
        if (!index.data(JobListModel::CanCancelRole).toBool())
            return;
        QStyleOptionButton button;
        button.rect = buttonRect(option.rect);
        button.text = index.data().toString();
        button.state = QStyle::State_Enabled | QStyle::State_Raised;
        button.palette = option.palette;
        button.fontMetrics = option.fontMetrics;
        style->drawControl(QStyle::CE_PushButton, &button, painter, widget);
        return;
    }
    QStyleOptionViewItem opt = option;
    initStyleOption(&opt, index);
    if (index.column() == JobListModel::StateColumn) {
        const QColor color = theme::stateColor(JobState(index.data(JobListModel::StateRole).toInt()), option.palette);
        if (!(option.state & QStyle::State_Selected))
            opt.palette.setColor(QPalette::Text, color);
        opt.font.setBold(true);
    }
    if (index.column() == JobListModel::IdColumn)
        opt.font.setFamily(QStringLiteral("monospace"));
    const QWidget *widget = option.widget;
    (widget ? widget->style() : QApplication::style())->drawControl(QStyle::CE_ItemViewItem, &opt, painter, widget);

    // A 3-px bar along the bottom of the state cell while the job runs.
    if (index.column() == JobListModel::StateColumn
        && JobState(index.data(JobListModel::StateRole).toInt()) == JobState::Running) {
        const double fraction = index.data(JobListModel::ProgressRole).toDouble();
        QRect bar = option.rect.adjusted(4, option.rect.height() - 4, -4, -1);
        painter->fillRect(bar, option.palette.color(QPalette::Mid));
        bar.setWidth(int(bar.width() * fraction));
        painter->fillRect(bar, theme::stateColor(JobState::Running, option.palette));
    }
}

QSize JobDelegate::sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    QSize s = QStyledItemDelegate::sizeHint(option, index);
    s.setHeight(qMax(s.height(), option.fontMetrics.height() + 12));
    if (index.column() == JobListModel::CancelColumn)
        s.setWidth(option.fontMetrics.horizontalAdvance(tr("Cancel")) + 28);
    if (index.column() == JobListModel::StateColumn) { // painted bold
        QFont bold = option.font;
        bold.setBold(true);
        s.setWidth(QFontMetrics(bold).horizontalAdvance(index.data().toString()) + 20);
    }
    return s;
}

bool JobDelegate::editorEvent(QEvent *event, QAbstractItemModel *model, const QStyleOptionViewItem &option,
                              const QModelIndex &index)
{
    if (index.column() == JobListModel::CancelColumn && event->type() == QEvent::MouseButtonRelease
        && index.data(JobListModel::CanCancelRole).toBool()) {
        const auto *mouse = static_cast<QMouseEvent *>(event);
        if (mouse->button() == Qt::LeftButton && buttonRect(option.rect).contains(mouse->position().toPoint())) {
            emit cancelClicked(index.data(JobListModel::JobIdRole).toString());
            return true;
        }
    }
    return QStyledItemDelegate::editorEvent(event, model, option, index);
}

JobTableView::JobTableView(QWidget *parent) : QTableView(parent)
{
    setObjectName(QStringLiteral("jobTable"));
    auto *delegate = new JobDelegate(this);
    setItemDelegate(delegate);
    connect(delegate, &JobDelegate::cancelClicked, this, &JobTableView::cancelClicked);
    setSelectionBehavior(QAbstractItemView::SelectRows);
    setSelectionMode(QAbstractItemView::SingleSelection);
    setEditTriggers(QAbstractItemView::NoEditTriggers);
    setAlternatingRowColors(true);
    setShowGrid(false);
    setWordWrap(false);
    verticalHeader()->hide();
    verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    horizontalHeader()->setHighlightSections(false);
}

void JobTableView::setJobModel(JobListModel *model)
{
    m_model = model;
    setModel(model);
    QHeaderView *h = horizontalHeader();
    h->setSectionResizeMode(JobListModel::IdColumn, QHeaderView::ResizeToContents);
    h->setSectionResizeMode(JobListModel::WorkflowColumn, QHeaderView::Stretch);
    h->setSectionResizeMode(JobListModel::StateColumn, QHeaderView::ResizeToContents);
    h->setSectionResizeMode(JobListModel::DurationColumn, QHeaderView::ResizeToContents);
    h->setSectionResizeMode(JobListModel::EtaColumn, QHeaderView::ResizeToContents);
    h->setSectionResizeMode(JobListModel::OutputsColumn, QHeaderView::ResizeToContents);
    h->setSectionResizeMode(JobListModel::CancelColumn, QHeaderView::Fixed);
    h->resizeSection(JobListModel::CancelColumn, fontMetrics().horizontalAdvance(tr("Cancel")) + 32);
    connect(selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this](const QModelIndex &current) {
        if (current.isValid())
            emit jobSelected(m_model->jobIdAt(current.row()));
    });
}

QString JobTableView::selectedJob() const
{
    const QModelIndex current = selectionModel() ? selectionModel()->currentIndex() : QModelIndex();
    return current.isValid() && m_model ? m_model->jobIdAt(current.row()) : QString();
}

void JobTableView::selectJob(const QString &jobId)
{
    const int row = m_model ? m_model->rowOf(jobId) : -1;
    if (row < 0)
        return;
    const QModelIndex index = m_model->index(row, 0);
    selectionModel()->setCurrentIndex(index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    scrollTo(index);
}

} // namespace cr::monitor
