#include "core/workflows/nodereplacements.h"

#include <QJsonArray>

namespace cr {

NodeReplacements NodeReplacements::fromJson(const QJsonObject &answer)
{
    NodeReplacements r;
    for (auto it = answer.constBegin(); it != answer.constEnd(); ++it) {
        for (const QJsonValue &v : it.value().toArray()) {
            const QJsonObject rep = v.toObject();
            const QString newClass = rep.value(QLatin1String("new_node_id")).toString();
            if (newClass.isEmpty())
                continue;
            for (const QJsonValue &m : rep.value(QLatin1String("input_mapping")).toArray()) {
                const QJsonObject map = m.toObject();
                const QString oldId = map.value(QLatin1String("old_id")).toString();
                const QString newId = map.value(QLatin1String("new_id")).toString();
                if (oldId.isEmpty() || newId.isEmpty()) // a set_value entry: no old input to follow
                    continue;
                QHash<QString, QString> &inputs = r.m_inputs[newClass];
                if (!inputs.contains(oldId))
                    inputs.insert(oldId, newId);
            }
        }
    }
    return r;
}

void NodeReplacements::merge(const NodeReplacements &other)
{
    for (auto it = other.m_inputs.cbegin(); it != other.m_inputs.cend(); ++it) {
        QHash<QString, QString> &mine = m_inputs[it.key()];
        for (auto in = it.value().cbegin(); in != it.value().cend(); ++in)
            if (!mine.contains(in.key()))
                mine.insert(in.key(), in.value());
    }
}

QString NodeReplacements::renamedInput(const QString &newClass, const QString &oldInput) const
{
    return m_inputs.value(newClass).value(oldInput);
}

} // namespace cr
