#include "tests/metrics/scrape.h"

#include <QProcess>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryFile>

#include <cmath>
#include <limits>

namespace cr::testing {

namespace {

// Parses `{a="x",b="y\"z"}` starting at text[i] == '{'; advances i past the '}'.
bool parseLabels(const QByteArray &text, qsizetype &i, Labels &out)
{
    ++i;
    while (i < text.size() && text[i] != '}') {
        const qsizetype eq = text.indexOf('=', i);
        if (eq < 0 || eq + 1 >= text.size() || text[eq + 1] != '"')
            return false;
        const QByteArray key = text.mid(i, eq - i);
        QByteArray value;
        qsizetype j = eq + 2;
        for (; j < text.size() && text[j] != '"'; ++j) {
            if (text[j] == '\\' && j + 1 < text.size()) {
                ++j;
                value += text[j] == 'n' ? '\n' : text[j];
            } else {
                value += text[j];
            }
        }
        if (j >= text.size())
            return false;
        out.insert(key, value);
        i = j + 1;
        if (i < text.size() && text[i] == ',')
            ++i;
    }
    ++i;
    return i <= text.size();
}

} // namespace

Scrape::Scrape(const QByteArray &text) : m_text(text)
{
    for (const QByteArray &line : text.split('\n')) {
        if (line.isEmpty())
            continue;
        if (line.startsWith("# TYPE ")) {
            const QList<QByteArray> f = line.split(' ');
            if (f.size() == 4)
                m_types.insert(f.at(2), f.at(3));
            continue;
        }
        if (line.startsWith('#'))
            continue;
        qsizetype i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ')
            ++i;
        const QByteArray name = line.left(i);
        Labels labels;
        if (i < line.size() && line[i] == '{' && !parseLabels(line, i, labels)) {
            m_ok = false;
            continue;
        }
        bool number = false;
        const QByteArray v = line.mid(i).trimmed();
        const double value = v == "+Inf" ? std::numeric_limits<double>::infinity() : v.toDouble(&number);
        if (!number && v != "+Inf")
            m_ok = false;
        m_samples.insert(key(name, labels), value);
    }
}

QByteArray Scrape::key(const QByteArray &name, const Labels &labels)
{
    QByteArray k = name;
    for (auto it = labels.cbegin(); it != labels.cend(); ++it)
        k += '\x01' + it.key() + '\x02' + it.value();
    return k;
}

double Scrape::value(const QByteArray &name, const Labels &labels) const
{
    return m_samples.value(key(name, labels), std::numeric_limits<double>::quiet_NaN());
}

bool Scrape::has(const QByteArray &name, const Labels &labels) const { return m_samples.contains(key(name, labels)); }

namespace {

// promtool with the arguments and `input` on stdin: empty when it passes (or "missing"), else its output.
QString runPromtool(const QStringList &arguments, const QByteArray &input, bool quietWhenOk)
{
    const QString promtool = QStandardPaths::findExecutable(QStringLiteral("promtool"));
    if (promtool.isEmpty())
        return QStringLiteral("missing");
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    QSignalSpy finished(&p, &QProcess::finished);
    p.start(promtool, arguments);
    p.write(input);
    p.closeWriteChannel();
    if (finished.isEmpty() && !finished.wait(30000))
        return QStringLiteral("promtool did not finish");
    const QString output = QString::fromUtf8(p.readAll()).trimmed();
    if (p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0 || (quietWhenOk && !output.isEmpty()))
        return QStringLiteral("exit %1: %2")
            .arg(p.exitCode())
            .arg(output.isEmpty() ? QStringLiteral("(no output)") : output);
    return {};
}

} // namespace

QString promtoolProblems(const QByteArray &text)
{
    return runPromtool({QStringLiteral("check"), QStringLiteral("metrics")}, text, true);
}

QString promqlProblems(const QStringList &expressions)
{
    QByteArray rules = "groups:\n- name: dashboard\n  rules:\n";
    for (qsizetype i = 0; i < expressions.size(); ++i) {
        QString expr = expressions.at(i);
        expr.replace(QLatin1Char('\''), QLatin1String("''")); // YAML single-quoted scalar
        rules += "  - record: dashboard:expr_" + QByteArray::number(i) + "\n    expr: '" + expr.toUtf8() + "'\n";
    }
    QTemporaryFile file;
    if (!file.open() || file.write(rules) != rules.size() || !file.flush())
        return QStringLiteral("cannot write the rules file");
    const QString problems
        = runPromtool({QStringLiteral("check"), QStringLiteral("rules"), file.fileName()}, {}, false);
    return problems.isEmpty() || problems == QLatin1String("missing")
        ? problems
        : problems + QStringLiteral("\n") + QString::fromUtf8(rules);
}

} // namespace cr::testing
