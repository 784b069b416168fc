#pragma once
// The large live preview: the latest frame scaled smoothly to the widget with its aspect ratio kept, and
// an overlay with the frame rate, the frame number and the job. Frames arrive already decoded.

#include <QElapsedTimer>
#include <QImage>
#include <QWidget>

#include <deque>

namespace cr::monitor {

class PreviewView final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(PreviewView)

public:
    explicit PreviewView(QWidget *parent = nullptr);

    void setFrame(const QImage &image, const QString &jobId, quint64 number);
    void clear(const QString &message = {}); // no image; the message is shown instead
    QImage image() const { return m_image; }
    QString jobId() const { return m_jobId; }
    quint64 frameNumber() const { return m_number; }          // the relay client's number of the frame shown
    quint64 framesShown() const { return m_framesShown; }     // setFrame calls
    quint64 framesPainted() const { return m_framesPainted; } // distinct frames that reached the screen
    double fps() const;                                       // frames shown during the last second

    QSize sizeHint() const override { return {640, 480}; }
    QSize minimumSizeHint() const override { return {240, 180}; }

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    QRect targetRect() const;

    QImage m_image;
    QString m_jobId;
    QString m_message;
    quint64 m_number = 0;
    quint64 m_framesShown = 0;
    quint64 m_framesPainted = 0;
    quint64 m_lastPaintedSerial = 0;
    std::deque<qint64> m_frameTimes; // ms on m_clock, the last second only
    QElapsedTimer m_clock;
};

} // namespace cr::monitor
