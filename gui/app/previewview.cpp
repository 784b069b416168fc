#include "gui/app/previewview.h"

#include <QPainter>
#include <QPainterPath>

namespace cr::monitor {

PreviewView::PreviewView(QWidget *parent) : QWidget(parent)
{
    setAttribute(Qt::WA_OpaquePaintEvent);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    m_clock.start();
    m_message = tr("No preview yet");
}

void PreviewView::setFrame(const QImage &image, const QString &jobId, quint64 number)
{
    m_image = image;
    m_jobId = jobId;
    m_number = number;
    m_message.clear();
    ++m_framesShown;
    const qint64 now = m_clock.elapsed();
    m_frameTimes.push_back(now);
    while (!m_frameTimes.empty() && m_frameTimes.front() < now - 1000)
        m_frameTimes.pop_front();
    update();
}

void PreviewView::clear(const QString &message)
{
    m_image = QImage();
    m_jobId.clear();
    m_number = 0;
    m_message = message.isEmpty() ? tr("No preview yet") : message;
    m_frameTimes.clear();
    update();
}

double PreviewView::fps() const
{
    const qint64 now = m_clock.elapsed();
    int count = 0;
    for (qint64 t : m_frameTimes)
        count += t >= now - 1000 ? 1 : 0;
    return count;
}

QRect PreviewView::targetRect() const
{
    if (m_image.isNull())
        return {};
    const QSize scaled = m_image.size().scaled(size(), Qt::KeepAspectRatio);
    return QRect(QPoint((width() - scaled.width()) / 2, (height() - scaled.height()) / 2), scaled);
}

void PreviewView::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    const QColor background = palette().color(QPalette::Base).lightness() < 128 ? palette().color(QPalette::Base)
                                                                                : QColor(0x20, 0x21, 0x24);
    p.fillRect(rect(), background);
    if (m_image.isNull()) {
        p.setPen(QColor(0xb0, 0xb3, 0xb8));
        p.drawText(rect(), Qt::AlignCenter, m_message);
        return;
    }
    p.setRenderHint(QPainter::SmoothPixmapTransform);
    p.drawImage(targetRect(), m_image);
    if (m_lastPaintedSerial != m_framesShown) {
        m_lastPaintedSerial = m_framesShown;
        ++m_framesPainted;
    }

    // Overlay: always light text on a translucent dark plate, readable over any image and either palette.
    const QString text = tr("%1 fps  ·  frame %2  ·  %3×%4%5")
                             .arg(fps(), 0, 'f', 0)
                             .arg(m_number)
                             .arg(m_image.width())
                             .arg(m_image.height())
                             .arg(m_jobId.isEmpty() ? QString() : tr("  ·  job %1").arg(m_jobId.left(8)));
    QFont font = p.font();
    font.setPointSizeF(font.pointSizeF() * 0.95);
    p.setFont(font);
    const QRect textRect = p.fontMetrics().boundingRect(text).adjusted(-8, -4, 8, 4);
    const QRect plate(QPoint(8, 8), textRect.size());
    p.setRenderHint(QPainter::Antialiasing);
    QPainterPath path;
    path.addRoundedRect(plate, 4, 4);
    p.fillPath(path, QColor(0, 0, 0, 150));
    p.setPen(QColor(0xf2, 0xf2, 0xf2));
    p.drawText(plate, Qt::AlignCenter, text);
}

} // namespace cr::monitor
