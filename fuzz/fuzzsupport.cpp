#include "fuzzsupport.h"

#include <QString>
#include <QtGlobal>

#include <cstdio>
#include <cstdlib>

namespace cr::fuzz {

void quietQt()
{
    static const bool once = [] {
        if (qEnvironmentVariableIntValue("CR_FUZZ_VERBOSE") == 0)
            qInstallMessageHandler([](QtMsgType type, const QMessageLogContext &, const QString &message) {
                if (type == QtFatalMsg) {
                    std::fprintf(stderr, "qFatal: %s\n", qPrintable(message));
                    std::abort();
                }
            });
        return true;
    }();
    Q_UNUSED(once);
}

std::pair<QByteArray, QByteArray> splitSections(const QByteArray &input)
{
    static const QByteArray separator("\n----\n");
    const qsizetype at = input.indexOf(separator);
    if (at < 0)
        return {input, {}};
    return {input.left(at), input.mid(at + separator.size())};
}

void invariantFailed(const char *condition, const char *file, int line)
{
    std::fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", condition, file, line);
    std::abort();
}

} // namespace cr::fuzz
