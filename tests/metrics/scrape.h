#pragma once
// A parsed Prometheus text exposition for the metrics tests: samples by name and label set (label order
// does not matter), the declared families and their types, and promtool's verdict on the text.

#include <QByteArray>
#include <QMap>
#include <QString>
#include <QStringList>

namespace cr::testing {

using Labels = QMap<QByteArray, QByteArray>;

class Scrape
{
public:
    explicit Scrape(const QByteArray &text);
    // The sample's value; NaN when there is no such sample.
    double value(const QByteArray &name, const Labels &labels = {}) const;
    bool has(const QByteArray &name, const Labels &labels = {}) const;
    // "counter", "gauge", "histogram", or empty when no # TYPE line declares the family.
    QByteArray typeOf(const QByteArray &family) const { return m_types.value(family); }
    bool parsed() const { return m_ok; }
    const QByteArray &text() const { return m_text; }

private:
    QByteArray m_text;
    QMap<QByteArray, QByteArray> m_types;
    static QByteArray key(const QByteArray &name, const Labels &labels); // labels in key order
    QMap<QByteArray, double> m_samples;
    bool m_ok = true;
};

// Runs `promtool check metrics` on the text. Empty when it passes; its output otherwise; "missing" when
// promtool is not installed.
QString promtoolProblems(const QByteArray &text);
// Runs `promtool check rules` on the PromQL expressions (as recording rules): empty when they all parse.
QString promqlProblems(const QStringList &expressions);

} // namespace cr::testing
