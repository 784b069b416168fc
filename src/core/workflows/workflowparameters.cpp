// Workflow: named parameters ([node_mappings] and node titles) and the atomic batch of applyInputs().

#include "core/workflows/workflow.h"

#include <QJsonArray>

namespace cr {

namespace {

// Titles match case-insensitively, with "_" and "-" read as spaces: "positive_prompt" finds "Positive Prompt".
QString normaliseTitle(const QString &title)
{
    QString t = title.toLower();
    t.replace(QLatin1Char('_'), QLatin1Char(' '));
    t.replace(QLatin1Char('-'), QLatin1Char(' '));
    return t.simplified();
}

// "6" -> ("6", ""), "6.text" -> ("6", "text").
QPair<QString, QString> splitTarget(const QString &target)
{
    const QString t = target.trimmed();
    const qsizetype dot = t.indexOf(QLatin1Char('.'));
    if (dot < 0)
        return {t, {}};
    return {t.left(dot), t.mid(dot + 1)};
}

std::optional<QString> findMapping(const QMap<QString, QString> &mappings, const QString &name)
{
    if (mappings.contains(name))
        return mappings.value(name);
    for (auto it = mappings.cbegin(); it != mappings.cend(); ++it) {
        if (it.key().compare(name, Qt::CaseInsensitive) == 0)
            return it.value();
    }
    return std::nullopt;
}

Error withDetail(Error e, const QString &key, const QString &value)
{
    e.details.insert(key, value);
    return e;
}

} // namespace

Result<QString> Workflow::nodeByTitle(const QString &title) const
{
    const QString wanted = normaliseTitle(title);
    QStringList matches;
    if (!wanted.isEmpty()) {
        for (const QString &id : nodeIds()) {
            if (normaliseTitle(this->title(id)) == wanted)
                matches.append(id);
        }
    }
    if (matches.size() == 1)
        return matches.first();
    QJsonObject details{{QStringLiteral("workflow"), m_name}, {QStringLiteral("title"), title}};
    if (matches.isEmpty()) {
        return Error::make(ErrorCode::UnknownParameter,
                           QStringLiteral("Workflow '%1' has no node titled '%2'.").arg(m_name, title), details);
    }
    details.insert(QStringLiteral("nodes"), QJsonArray::fromStringList(matches));
    return Error::make(ErrorCode::UnknownParameter,
                       QStringLiteral("Title '%1' is ambiguous in workflow '%2': nodes %3 carry it; address one "
                                      "by node id.")
                           .arg(title, m_name, matches.join(QStringLiteral(", "))),
                       details);
}

QString Workflow::currentInputName(const QString &nodeId, const QString &input) const
{
    if (input.isEmpty() || inputType(nodeId, input))
        return input;
    const QString renamed = m_replacements.renamedInput(classType(nodeId), input);
    return !renamed.isEmpty() && inputType(nodeId, renamed) ? renamed : input;
}

Result<Parameter> Workflow::resolveOnNode(const QString &name, const QString &nodeId, const QString &input,
                                          const QString &source) const
{
    QString chosen = currentInputName(nodeId, input);
    if (chosen.isEmpty()) {
        // An input named like the parameter wins ("seed" = "3" -> KSampler's seed, not its linked model);
        // otherwise the /update/text rule picks it.
        const Result<QString> rule = textInput(nodeId);
        if (inputType(nodeId, name)) {
            chosen = name;
        } else if (rule) {
            chosen = *rule;
        } else {
            Error e = rule.error();
            e.message = QStringLiteral("Parameter '%1' names node '%2' (%3), which has none of the text inputs "
                                       "and no input '%1'; name the input too (\"%2.<input>\").")
                            .arg(name, nodeId, classType(nodeId));
            return withDetail(e, QStringLiteral("parameter"), name);
        }
    }
    const std::optional<InputType> type = inputType(nodeId, chosen);
    if (!type) {
        Error e = nodeError(ErrorCode::UnknownInput, nodeId, chosen,
                            QStringLiteral("Parameter '%1' names input '%2' of node '%3' (%4), which has no such "
                                           "input.")
                                .arg(name, chosen, nodeId, classType(nodeId)));
        return withDetail(e, QStringLiteral("parameter"), name);
    }
    return Parameter{name, nodeId, chosen, *type, inputValue(nodeId, chosen), source};
}

Result<Parameter> Workflow::resolveByTitle(const QString &name) const
{
    const Result<QString> whole = nodeByTitle(name);
    if (whole)
        return resolveOnNode(name, *whole, {}, QStringLiteral("title"));
    if (whole.error().details.contains(QStringLiteral("nodes")))
        return whole.error(); // ambiguous
    const qsizetype dot = name.lastIndexOf(QLatin1Char('.'));
    if (dot > 0) {
        const Result<QString> node = nodeByTitle(name.left(dot));
        if (node)
            return resolveOnNode(name, *node, name.mid(dot + 1), QStringLiteral("title"));
        if (node.error().details.contains(QStringLiteral("nodes")))
            return node.error();
    }
    return whole.error();
}

Result<Parameter> Workflow::resolveParameter(const QString &name, const QMap<QString, QString> &mappings) const
{
    if (const std::optional<QString> target = findMapping(mappings, name)) {
        const auto [nodeId, input] = splitTarget(*target);
        if (hasNode(nodeId))
            return resolveOnNode(name, nodeId, input, QStringLiteral("mapping"));
        // The node is gone (e.g. the workflow was re-exported with new ids): the title may still find it.
        const Result<Parameter> byTitle = resolveByTitle(name);
        if (byTitle)
            return byTitle;
        return Error::make(ErrorCode::UnknownNode,
                           QStringLiteral("Parameter '%1' maps to node '%2' (\"%3\"), which is not in workflow "
                                          "'%4', and no node is titled '%1'.")
                               .arg(name, nodeId, *target, m_name),
                           {{QStringLiteral("workflow"), m_name},
                            {QStringLiteral("parameter"), name},
                            {QStringLiteral("mapping"), *target},
                            {QStringLiteral("node"), nodeId}});
    }
    const auto [nodeId, input] = splitTarget(name);
    if (hasNode(nodeId))
        return resolveOnNode(name, nodeId, input, QStringLiteral("node"));
    const Result<Parameter> byTitle = resolveByTitle(name);
    if (byTitle || byTitle.error().code != QLatin1String(ErrorCode::UnknownParameter)
        || byTitle.error().details.contains(QStringLiteral("nodes")))
        return byTitle;

    QStringList known = mappings.keys();
    for (const QString &id : nodeIds()) {
        if (!title(id).isEmpty())
            known.append(title(id));
    }
    return Error::make(ErrorCode::UnknownParameter,
                       QStringLiteral("Workflow '%1' has no parameter '%2' (not a mapping, node id or node "
                                      "title).")
                           .arg(m_name, name),
                       {{QStringLiteral("workflow"), m_name},
                        {QStringLiteral("parameter"), name},
                        {QStringLiteral("known"), QJsonArray::fromStringList(known)}});
}

ParameterList Workflow::parameters(const QMap<QString, QString> &mappings) const
{
    ParameterList list;
    QSet<QString> taken;
    for (auto it = mappings.cbegin(); it != mappings.cend(); ++it) {
        taken.insert(normaliseTitle(it.key()));
        const Result<Parameter> p = resolveParameter(it.key(), mappings);
        if (p)
            list.parameters.append(*p);
        else
            list.problems.append(p.error());
    }
    QHash<QString, int> titleCount;
    const QStringList ids = nodeIds();
    for (const QString &id : ids)
        ++titleCount[normaliseTitle(title(id))];
    for (const QString &id : ids) {
        const QString t = title(id);
        const QString key = normaliseTitle(t);
        if (key.isEmpty() || taken.contains(key) || titleCount.value(key) != 1)
            continue;
        const Result<QString> input = textInput(id);
        if (!input)
            continue;
        const InputType type = inputType(id, *input).value_or(InputType::Other);
        if (type == InputType::Link || type == InputType::Other)
            continue;
        list.parameters.append(Parameter{t, id, *input, type, inputValue(id, *input), QStringLiteral("title")});
    }
    return list;
}

Status Workflow::setParameter(const QString &name, const QJsonValue &value, const QMap<QString, QString> &mappings,
                              bool allowLinkOverwrite)
{
    const Result<Parameter> p = resolveParameter(name, mappings);
    if (!p)
        return p.error();
    return writeChecked(p->nodeId, p->input, value, allowLinkOverwrite);
}

Result<QList<InputChange>> Workflow::applyInputs(const QJsonObject &inputs, const QMap<QString, QString> &mappings,
                                                 bool allowLinkOverwrite)
{
    Workflow next = *this;
    QList<InputChange> changes;
    QHash<QString, QString> writtenBy; // "node\ninput" -> key, to catch two keys writing one input

    auto write
        = [&](const QString &key, const QString &nodeId, const QString &input, const QJsonValue &value) -> Status {
        const QString slot = nodeId + QLatin1Char('\n') + input;
        if (writtenBy.contains(slot)) {
            return Error::make(
                ErrorCode::InvalidRequest,
                QStringLiteral("Keys '%1' and '%2' both set input '%3' of node '%4'.")
                    .arg(writtenBy.value(slot), key, input, nodeId),
                {{QStringLiteral("key"), key}, {QStringLiteral("node"), nodeId}, {QStringLiteral("input"), input}});
        }
        writtenBy.insert(slot, key);
        if (Status bad = next.writeChecked(nodeId, input, value, allowLinkOverwrite)) {
            bad->details.insert(QStringLiteral("key"), key);
            return bad;
        }
        changes.append(InputChange{nodeId, input, next.inputValue(nodeId, input)});
        return std::nullopt;
    };

    for (auto it = inputs.begin(); it != inputs.end(); ++it) {
        const QString key = it.key();
        if (it.value().isObject()) {
            QString nodeId = key;
            if (!next.hasNode(key)) {
                const Result<QString> byTitle = next.nodeByTitle(key);
                if (!byTitle) {
                    return Error::make(
                        ErrorCode::UnknownNode,
                        QStringLiteral("Workflow '%1' has no node '%2' (by id or title).").arg(m_name, key),
                        {{QStringLiteral("workflow"), m_name},
                         {QStringLiteral("key"), key},
                         {QStringLiteral("node"), key}});
                }
                nodeId = *byTitle;
            }
            const QJsonObject nodeInputs = it.value().toObject();
            for (auto in = nodeInputs.begin(); in != nodeInputs.end(); ++in) {
                if (Status bad = write(key + QLatin1Char('.') + in.key(), nodeId,
                                       next.currentInputName(nodeId, in.key()), in.value()))
                    return *bad;
            }
            continue;
        }
        const Result<Parameter> p = next.resolveParameter(key, mappings);
        if (!p)
            return withDetail(p.error(), QStringLiteral("key"), key);
        if (Status bad = write(key, p->nodeId, p->input, it.value()))
            return *bad;
    }
    *this = std::move(next);
    return changes;
}

} // namespace cr
