#pragma once
// ComfyUI's node replacements (GET /node_replacements of a newer ComfyUI): a deprecated node class and the
// class that replaces it, with how the old inputs map onto the new ones. A workflow migrated in ComfyUI's
// editor has the new class while a named parameter ([node_mappings], "12.factor") may still name the old
// input: resolving a parameter reads the old input's new name from here.

#include <QHash>
#include <QJsonObject>
#include <QString>

namespace cr {

class NodeReplacements
{
public:
    // {"<old class>": [{"new_node_id", "old_node_id", "input_mapping": [{"new_id", "old_id"} |
    //  {"new_id", "set_value"}], "output_mapping", "old_widget_ids"}]}; anything else is skipped.
    static NodeReplacements fromJson(const QJsonObject &answer);
    void merge(const NodeReplacements &other); // the first mapping of an input wins
    bool isEmpty() const { return m_inputs.isEmpty(); }
    // The input of a node of `newClass` that an input `oldInput` of a class it replaced became; "" when none.
    QString renamedInput(const QString &newClass, const QString &oldInput) const;

private:
    QHash<QString, QHash<QString, QString>> m_inputs; // new class -> old input -> new input
};

} // namespace cr
