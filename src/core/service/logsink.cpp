#include "core/service/logsink.h"

#include <QByteArray>
#include <QList>
#include <QLoggingCategory>
#include <QString>

#include <cstdio>
#include <sys/stat.h>

namespace cr {

namespace {

void journalHandler(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    // journald makes an entry of every line: each line of a multi-line message gets the prefix.
    const QByteArray prefix = '<' + QByteArray::number(syslogPriority(type)) + '>'
        + QByteArray(context.category ? context.category : "default") + ": ";
    QByteArray out;
    for (const QByteArray &line : message.toUtf8().split('\n'))
        out += prefix + line + '\n';
    std::fwrite(out.constData(), 1, size_t(out.size()), stderr);
    std::fflush(stderr);
    if (type == QtFatalMsg)
        std::abort();
}

} // namespace

int syslogPriority(QtMsgType type)
{
    switch (type) {
    case QtDebugMsg:
        return 7;
    case QtInfoMsg:
        return 6;
    case QtWarningMsg:
        return 4;
    case QtCriticalMsg:
        return 3;
    case QtFatalMsg:
        return 2;
    }
    return 6;
}

bool stderrIsJournal()
{
    // JOURNAL_STREAM is "<device>:<inode>" of the stream systemd connected; it is inherited by children
    // whose stderr may go elsewhere, so compare it with what stderr is.
    const QByteArray stream = qgetenv("JOURNAL_STREAM");
    const qsizetype colon = stream.indexOf(':');
    if (colon <= 0)
        return false;
    struct stat st { };
    if (fstat(fileno(stderr), &st) != 0)
        return false;
    bool okDev = false;
    bool okIno = false;
    const qulonglong dev = stream.left(colon).toULongLong(&okDev);
    const qulonglong ino = stream.mid(colon + 1).toULongLong(&okIno);
    return okDev && okIno && dev == qulonglong(st.st_dev) && ino == qulonglong(st.st_ino);
}

void installLogSink()
{
    if (stderrIsJournal()) {
        qInstallMessageHandler(journalHandler);
        return;
    }
    qSetMessagePattern(QStringLiteral("%{time yyyy-MM-dd hh:mm:ss.zzz} %{if-debug}debug%{endif}%{if-info}info %{endif}"
                                      "%{if-warning}warn %{endif}%{if-critical}crit %{endif}%{if-fatal}fatal%{endif}"
                                      " %{category}: %{message}"));
}

void applyLogRules(const QString &rules)
{
    QStringList all;
    if (qEnvironmentVariableIsEmpty("QT_LOGGING_RULES"))
        all << QStringLiteral("*.debug=false"); // debug output is opt-in
    if (!rules.isEmpty())
        all << rules;
    QLoggingCategory::setFilterRules(all.join(QLatin1Char('\n')));
}

} // namespace cr
