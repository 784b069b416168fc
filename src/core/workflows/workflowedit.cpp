// Workflow: checked writes of single inputs (setInput, the /update/text rule, setImage).

#include "core/workflows/workflow.h"

#include <QJsonArray>
#include <QVariant>

#include <cmath>

namespace cr {

namespace {

const QString kInputs = QStringLiteral("inputs");
const QString kImage = QStringLiteral("image");

// What a value is, in the words of the type names (plus null/array/object/link).
QString kindOf(const QJsonValue &v)
{
    switch (v.type()) {
    case QJsonValue::String:
        return QStringLiteral("string");
    case QJsonValue::Bool:
        return QStringLiteral("boolean");
    case QJsonValue::Double: {
        const double d = v.toDouble();
        return v.toVariant().typeId() == QMetaType::LongLong || std::trunc(d) == d ? QStringLiteral("integer")
                                                                                   : QStringLiteral("float");
    }
    case QJsonValue::Array:
        return isLink(v) ? QStringLiteral("link") : QStringLiteral("array");
    case QJsonValue::Object:
        return QStringLiteral("object");
    case QJsonValue::Null:
        return QStringLiteral("null");
    case QJsonValue::Undefined:
        break;
    }
    return QStringLiteral("nothing");
}

// A JSON number as an exact qint64 (integers parsed by Qt are exact up to 2^63-1; doubles must be whole).
std::optional<qint64> toInt64(const QJsonValue &v)
{
    if (!v.isDouble())
        return std::nullopt;
    const QVariant var = v.toVariant();
    if (var.typeId() == QMetaType::LongLong)
        return var.toLongLong();
    const double d = v.toDouble();
    if (!std::isfinite(d) || std::trunc(d) != d || d >= 9223372036854775808.0 || d < -9223372036854775808.0)
        return std::nullopt;
    return qint64(d);
}

QString shortValue(const QJsonValue &v)
{
    if (v.isString()) {
        const QString s = v.toString();
        return QLatin1Char('"') + (s.size() > 40 ? s.left(37) + QStringLiteral("...") : s) + QLatin1Char('"');
    }
    if (v.isDouble())
        return v.toVariant().toString();
    if (v.isBool())
        return v.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    return kindOf(v);
}

// Converts the text of /update/text to the type of the input it lands in.
std::optional<QJsonValue> textAs(InputType type, const QString &text)
{
    const QString t = text.trimmed();
    bool ok = false;
    switch (type) {
    case InputType::Integer: {
        const qlonglong n = t.toLongLong(&ok);
        return ok ? std::optional<QJsonValue>(QJsonValue(qint64(n))) : std::nullopt;
    }
    case InputType::Float: {
        const double d = t.toDouble(&ok);
        return ok && std::isfinite(d) ? std::optional<QJsonValue>(QJsonValue(d)) : std::nullopt;
    }
    case InputType::Boolean:
        if (t.compare(QLatin1String("true"), Qt::CaseInsensitive) == 0 || t == QLatin1String("1"))
            return QJsonValue(true);
        if (t.compare(QLatin1String("false"), Qt::CaseInsensitive) == 0 || t == QLatin1String("0"))
            return QJsonValue(false);
        return std::nullopt;
    case InputType::String:
    case InputType::Link:
    case InputType::Other:
        break;
    }
    return QJsonValue(text); // strings; links and others are refused by writeChecked
}

} // namespace

Status Workflow::setInput(const QString &nodeId, const QString &input, const QJsonValue &value, bool allowLinkOverwrite)
{
    return writeChecked(nodeId, input, value, allowLinkOverwrite);
}

Status Workflow::writeChecked(const QString &nodeId, const QString &input, const QJsonValue &value,
                              bool allowLinkOverwrite)
{
    if (!hasNode(nodeId)) {
        return nodeError(ErrorCode::UnknownNode, nodeId, input,
                         QStringLiteral("Workflow '%1' has no node '%2'.").arg(m_name, nodeId));
    }
    const QString where = QStringLiteral("Input '%1' of node '%2' (%3)").arg(input, nodeId, classType(nodeId));
    const std::optional<InputType> current = inputType(nodeId, input);
    if (!current) {
        const QStringList names = m_graph.value(nodeId).toObject().value(kInputs).toObject().keys();
        Error e = nodeError(ErrorCode::UnknownInput, nodeId, input,
                            QStringLiteral("Node '%1' (%2) has no input '%3'; its inputs are: %4.")
                                .arg(nodeId, classType(nodeId), input,
                                     names.isEmpty() ? QStringLiteral("none") : names.join(QStringLiteral(", "))));
        e.details.insert(QStringLiteral("inputs"), QJsonArray::fromStringList(names));
        return e;
    }

    auto mismatch = [&](const QString &why) {
        Error e = nodeError(ErrorCode::TypeMismatch, nodeId, input, where + QLatin1Char(' ') + why);
        e.details.insert(QStringLiteral("expected"), inputTypeName(*current));
        e.details.insert(QStringLiteral("received"), kindOf(value));
        return e;
    };

    if (*current == InputType::Link && !allowLinkOverwrite) {
        const QJsonArray link = inputValue(nodeId, input).toArray();
        Error e = nodeError(ErrorCode::LinkedInput, nodeId, input,
                            where
                                + QStringLiteral(" is linked to output %1 of node '%2', not a literal value; "
                                                 "edit that node instead, or allow the link to be overwritten.")
                                      .arg(link.at(1).toInt())
                                      .arg(link.at(0).toString()));
        e.details.insert(QStringLiteral("link"), link);
        return e;
    }

    QJsonValue stored = value;
    if (isLink(value)) {
        if (!allowLinkOverwrite)
            return mismatch(QStringLiteral("holds a %1; a link may only replace it when link overwrites are "
                                           "allowed.")
                                .arg(inputTypeName(*current)));
        const QString target = value.toArray().at(0).toString();
        if (!hasNode(target)) {
            return nodeError(
                ErrorCode::UnknownNode, nodeId, input,
                where
                    + QStringLiteral(" cannot link to node '%1': workflow '%2' has no such node.").arg(target, m_name));
        }
    } else if (*current == InputType::Link) {
        // An allowed link overwrite: any scalar literal; its type becomes the input's type from now on.
        if (!value.isString() && !value.isDouble() && !value.isBool())
            return mismatch(
                QStringLiteral("can only be replaced by a string, number or boolean, not %1.").arg(kindOf(value)));
    } else {
        bool ok = false;
        switch (*current) {
        case InputType::String:
            ok = value.isString();
            break;
        case InputType::Boolean:
            ok = value.isBool();
            break;
        case InputType::Float:
            ok = value.isDouble();
            break;
        case InputType::Integer:
            if (const std::optional<qint64> n = toInt64(value)) {
                stored = QJsonValue(*n);
                ok = true;
            } else if (value.isDouble()) {
                return mismatch(QStringLiteral("is an integer; %1 is not a whole number between -2^63 and "
                                               "2^63-1.")
                                    .arg(shortValue(value)));
            }
            break;
        case InputType::Other:
            ok = value.type() == inputValue(nodeId, input).type();
            break;
        case InputType::Link:
            break;
        }
        if (!ok) {
            return mismatch(QStringLiteral("is %1 %2; got %3 (%4).")
                                .arg(*current == InputType::Integer ? QStringLiteral("an") : QStringLiteral("a"),
                                     inputTypeName(*current), kindOf(value), shortValue(value)));
        }
    }

    QJsonObject node = m_graph.value(nodeId).toObject();
    QJsonObject inputs = node.value(kInputs).toObject();
    inputs.insert(input, stored);
    node.insert(kInputs, inputs);
    m_graph.insert(nodeId, node);
    if (*current == InputType::Link || isLink(stored)) {
        // The input changed kind: remember its number spelling only from the new value.
        const bool isFloat = stored.isDouble() && kindOf(stored) == QLatin1String("float");
        if (isFloat)
            m_floatInputs[nodeId].insert(input);
        else
            m_floatInputs[nodeId].remove(input);
    }
    return std::nullopt;
}

Result<QString> Workflow::textInput(const QString &nodeId) const
{
    if (!hasNode(nodeId)) {
        return nodeError(ErrorCode::UnknownNode, nodeId, {},
                         QStringLiteral("Workflow '%1' has no node '%2'.").arg(m_name, nodeId));
    }
    const QJsonObject inputs = m_graph.value(nodeId).toObject().value(kInputs).toObject();
    for (const QString &name : textRuleInputs()) {
        if (inputs.contains(name))
            return name;
    }
    Error e = nodeError(ErrorCode::UnknownInput, nodeId, {},
                        QStringLiteral("Node '%1' (%2) has none of the text inputs (%3).")
                            .arg(nodeId, classType(nodeId), textRuleInputs().join(QStringLiteral(", "))));
    e.details.insert(QStringLiteral("text_inputs"), QJsonArray::fromStringList(textRuleInputs()));
    return e;
}

Status Workflow::setText(const QString &nodeId, const QString &text)
{
    const Result<QString> input = textInput(nodeId);
    if (!input)
        return input.error();
    const InputType type = inputType(nodeId, *input).value_or(InputType::Other);
    const std::optional<QJsonValue> value = textAs(type, text);
    if (!value) {
        Error e = nodeError(ErrorCode::TypeMismatch, nodeId, *input,
                            QStringLiteral("Input '%1' of node '%2' (%3) is %4 %5; the text '%6' is not one.")
                                .arg(*input, nodeId, classType(nodeId),
                                     type == InputType::Integer ? QStringLiteral("an") : QStringLiteral("a"),
                                     inputTypeName(type), text.left(40)));
        e.details.insert(QStringLiteral("expected"), inputTypeName(type));
        e.details.insert(QStringLiteral("received"), QStringLiteral("string"));
        return e;
    }
    return writeChecked(nodeId, *input, *value, false);
}

Status Workflow::setImage(const QString &nodeId, const QString &imageName)
{
    if (!hasNode(nodeId)) {
        return nodeError(ErrorCode::UnknownNode, nodeId, kImage,
                         QStringLiteral("Workflow '%1' has no node '%2'.").arg(m_name, nodeId));
    }
    if (!inputType(nodeId, kImage)) {
        return nodeError(ErrorCode::UnknownInput, nodeId, kImage,
                         QStringLiteral("Node '%1' (%2) has no image input; images go into LoadImage, "
                                        "LoadImageMask or another node with an 'image' input.")
                             .arg(nodeId, classType(nodeId)));
    }
    if (imageName.trimmed().isEmpty()) {
        return nodeError(ErrorCode::MissingField, nodeId, kImage,
                         QStringLiteral("The image name for node '%1' (%2) is empty.").arg(nodeId, classType(nodeId)));
    }
    return writeChecked(nodeId, kImage, QJsonValue(imageName), false);
}

} // namespace cr
