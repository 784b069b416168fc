#include "gui/app/theme.h"

#include "gui/client/relayclient.h"

#include <QApplication>
#include <QStyle>
#include <QStyleFactory>

Q_LOGGING_CATEGORY(lcMonitorUi, "monitor.ui", QtInfoMsg)

namespace cr::monitor::theme {

namespace {

// Two shades per hue: the darker one for light backgrounds, the lighter one for dark backgrounds.
QColor pick(const QPalette &palette, const char *onLight, const char *onDark)
{
    return QColor(QString::fromLatin1(isDark(palette) ? onDark : onLight));
}

} // namespace

bool isDark(const QPalette &palette) { return palette.color(QPalette::Window).lightness() < 128; }

QPalette darkPalette()
{
    QPalette p;
    const QColor window(0x2b, 0x2d, 0x31), base(0x1e, 0x1f, 0x22), text(0xe6, 0xe6, 0xe6), mid(0x3c, 0x3f, 0x44);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, QColor(0x26, 0x27, 0x2b));
    p.setColor(QPalette::ToolTipBase, base);
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, QColor(0x8a, 0x8d, 0x93));
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, mid);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, QColor(0xff, 0x6b, 0x6b));
    p.setColor(QPalette::Light, QColor(0x4a, 0x4d, 0x53));
    p.setColor(QPalette::Midlight, QColor(0x44, 0x47, 0x4c));
    p.setColor(QPalette::Mid, QColor(0x33, 0x35, 0x39));
    p.setColor(QPalette::Dark, QColor(0x19, 0x1a, 0x1c));
    p.setColor(QPalette::Shadow, QColor(0x0c, 0x0c, 0x0d));
    p.setColor(QPalette::Highlight, QColor(0x3d, 0x7e, 0xd6));
    p.setColor(QPalette::HighlightedText, QColor(0xff, 0xff, 0xff));
    p.setColor(QPalette::Link, QColor(0x6c, 0xb2, 0xff));
    p.setColor(QPalette::LinkVisited, QColor(0xb3, 0x94, 0xff));
    for (QPalette::ColorRole role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
        p.setColor(QPalette::Disabled, role, QColor(0x7a, 0x7d, 0x83));
    p.setColor(QPalette::Disabled, QPalette::Button, QColor(0x33, 0x35, 0x39));
    return p;
}

void apply(bool dark)
{
    if (QStyle *fusion = QStyleFactory::create(QStringLiteral("Fusion")))
        QApplication::setStyle(fusion);
    QApplication::setPalette(dark ? darkPalette() : QApplication::style()->standardPalette());
}

QColor stateColor(JobState state, const QPalette &palette)
{
    switch (state) {
    case JobState::Queued:
        return palette.color(QPalette::PlaceholderText);
    case JobState::Running:
        return pick(palette, "#1565c0", "#64b5f6");
    case JobState::Succeeded:
        return pick(palette, "#2e7d32", "#81c784");
    case JobState::Failed:
        return errorColor(palette);
    case JobState::Cancelled:
        return warningColor(palette);
    case JobState::Lost:
        return pick(palette, "#6a1b9a", "#ce93d8");
    case JobState::Unknown:
        break;
    }
    return palette.color(QPalette::Text);
}

QColor connectionColor(int relayState, const QPalette &palette)
{
    switch (RelayClient::State(relayState)) {
    case RelayClient::State::Connected:
        return pick(palette, "#2e7d32", "#81c784");
    case RelayClient::State::Connecting:
    case RelayClient::State::Reconnecting:
        return warningColor(palette);
    case RelayClient::State::Disconnected:
        break;
    }
    return palette.color(QPalette::PlaceholderText);
}

QColor errorColor(const QPalette &palette) { return pick(palette, "#c62828", "#ef9a9a"); }

QColor warningColor(const QPalette &palette) { return pick(palette, "#b26a00", "#ffcc80"); }

} // namespace cr::monitor::theme
