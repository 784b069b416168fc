#pragma once
// Where the service's log lines go. Under systemd, when stderr is the journal (JOURNAL_STREAM names it),
// every line starts with its syslog priority ("<6>comfyrunner.api: ..."), which journald reads as the
// entry's PRIORITY (debug 7, info 6, warning 4, critical 3, fatal 2); the time stamp is left to the journal.
// Elsewhere lines keep the "time level category: message" pattern.

#include <QString>
#include <QtGlobal>

namespace cr {

// True when stderr is the journal stream systemd gave us.
bool stderrIsJournal();
// Installs the format for where stderr goes (call once, early in main).
void installLogSink();
// Applies [log] rules (one QLoggingCategory rule per line) over the default "*.debug=false"; the default
// is left out when QT_LOGGING_RULES is set, which wins over both (Qt reads it last). At start and on reload.
void applyLogRules(const QString &rules);
// The syslog priority of a Qt message type.
int syslogPriority(QtMsgType type);

} // namespace cr
