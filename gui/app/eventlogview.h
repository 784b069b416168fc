#pragma once
// The event log: a text filter, a category choice, "hide progress", and the bounded list (newest at the
// bottom; it follows new entries while scrolled to the end). Errors and warnings are coloured.

#include <QWidget>

class QCheckBox;
class QComboBox;
class QLineEdit;
class QListView;

namespace cr::monitor {

class EventLogFilter;
class EventLogModel;

class EventLogView final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EventLogView)

public:
    EventLogView(EventLogModel *model, QWidget *parent = nullptr);

    EventLogFilter *filter() const { return m_filter; }
    int visibleRows() const;
    void setFilterText(const QString &text);
    void setHideProgress(bool hide);
    bool hideProgress() const;

private:
    EventLogModel *m_model;
    EventLogFilter *m_filter;
    QLineEdit *m_text;
    QComboBox *m_category;
    QCheckBox *m_hideProgress;
    QListView *m_list;
};

} // namespace cr::monitor
