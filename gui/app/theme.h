#pragma once
// Palettes and the few colours the monitor uses, chosen from the active palette so that text stays
// readable on light and dark backgrounds. Logging category "monitor.ui" is declared here too.

#include "gui/client/monitortypes.h"

#include <QColor>
#include <QLoggingCategory>
#include <QPalette>

Q_DECLARE_LOGGING_CATEGORY(lcMonitorUi)

namespace cr::monitor::theme {

bool isDark(const QPalette &palette); // the window background is dark
QPalette darkPalette();               // a Fusion dark palette
void apply(bool dark);                // Fusion style + light (the style's standard) or dark palette
QColor stateColor(JobState state, const QPalette &palette);      // readable on palette.base()
QColor connectionColor(int relayState, const QPalette &palette); // RelayClient::State as int
QColor errorColor(const QPalette &palette);
QColor warningColor(const QPalette &palette);

} // namespace cr::monitor::theme
