// FakeNodeCatalog::validate: ComfyUI 0.8's prompt validation (execution.py: validate_prompt /
// validate_inputs) over the catalogue's classes, with Python's coercions, error texts and tracebacks.
#include "sim/fakenodecatalog.h"

#include <QHash>
#include <QSet>

#include <cmath>
#include <variant>

namespace cr::sim {

namespace {

const QString kExecutionPy = QStringLiteral("  File \"/srv/comfyui/execution.py\", line %1, in %2\n    %3\n");

OrderedJson reason(const QString &type, const QString &message, const QString &details, OrderedJson extraInfo)
{
    return OrderedJson::object({{QStringLiteral("type"), type},
                                {QStringLiteral("message"), message},
                                {QStringLiteral("details"), details},
                                {QStringLiteral("extra_info"), std::move(extraInfo)}});
}

// A Python exception raised while validating one node (KeyError on a missing linked node, ...).
struct PyException {
    QString type;
    QString message;
    QStringList traceback;
};

struct NodeResult {
    bool valid = true;
    OrderedJson reasons = OrderedJson::array();
};

// Python's int()/float() on a JSON value; nullopt + message like Python's ValueError/TypeError text.
std::optional<OrderedJson> pyInt(const OrderedJson &v, QString *error)
{
    switch (v.type()) {
    case OrderedJson::Type::Int:
        return v;
    case OrderedJson::Type::Bool:
        return OrderedJson(qint64(v.toBool()));
    case OrderedJson::Type::Float:
        if (!std::isfinite(v.toDouble())) {
            *error = std::isnan(v.toDouble()) ? QStringLiteral("cannot convert float NaN to integer")
                                              : QStringLiteral("cannot convert float infinity to integer");
            return std::nullopt;
        }
        return OrderedJson(qint64(v.toDouble()));
    case OrderedJson::Type::String: {
        bool ok = false;
        const qint64 n = v.toString().trimmed().remove(u'_').toLongLong(&ok);
        if (ok)
            return OrderedJson(n);
        *error = QStringLiteral("invalid literal for int() with base 10: %1").arg(OrderedJson::pyRepr(v.toString()));
        return std::nullopt;
    }
    case OrderedJson::Type::Null:
        *error
            = QStringLiteral("int() argument must be a string, a bytes-like object or a real number, not 'NoneType'");
        return std::nullopt;
    default:
        *error = QStringLiteral("int() argument must be a string, a bytes-like object or a real number, not '%1'")
                     .arg(v.isArray() ? QStringLiteral("list") : QStringLiteral("dict"));
        return std::nullopt;
    }
}

std::optional<OrderedJson> pyFloatValue(const OrderedJson &v, QString *error)
{
    switch (v.type()) {
    case OrderedJson::Type::Int:
    case OrderedJson::Type::Float:
    case OrderedJson::Type::Bool:
        return OrderedJson(v.toDouble());
    case OrderedJson::Type::String: {
        const QString s = v.toString().trimmed().toLower();
        if (s == QLatin1String("inf") || s == QLatin1String("infinity") || s == QLatin1String("+inf"))
            return OrderedJson(qInf());
        if (s == QLatin1String("-inf") || s == QLatin1String("-infinity"))
            return OrderedJson(-qInf());
        if (s == QLatin1String("nan"))
            return OrderedJson(qQNaN());
        bool ok = false;
        const double d = s.toDouble(&ok);
        if (ok)
            return OrderedJson(d);
        *error = QStringLiteral("could not convert string to float: %1").arg(OrderedJson::pyRepr(v.toString()));
        return std::nullopt;
    }
    case OrderedJson::Type::Null:
        *error = QStringLiteral("float() argument must be a string or a real number, not 'NoneType'");
        return std::nullopt;
    default:
        *error = QStringLiteral("float() argument must be a string or a real number, not '%1'")
                     .arg(v.isArray() ? QStringLiteral("list") : QStringLiteral("dict"));
        return std::nullopt;
    }
}

bool pyTruthy(const OrderedJson &v)
{
    switch (v.type()) {
    case OrderedJson::Type::Null:
        return false;
    case OrderedJson::Type::Bool:
        return v.toBool();
    case OrderedJson::Type::Int:
    case OrderedJson::Type::Float:
        return v.toDouble() != 0;
    case OrderedJson::Type::String:
        return !v.toString().isEmpty();
    default:
        return v.size() > 0;
    }
}

// execution.py: validate_node_input (non-strict).
bool typesCompatible(const OrderedJson &received, const OrderedJson &input)
{
    if (received == input)
        return true;
    if (!received.isString() || !input.isString())
        return false;
    if (received.toString() == u"*" || input.toString() == u"*")
        return true;
    QSet<QString> r, i;
    for (const QString &t : received.toString().split(u','))
        r.insert(t.trimmed());
    for (const QString &t : input.toString().split(u','))
        i.insert(t.trimmed());
    return r.intersects(i);
}

class Validator
{
public:
    Validator(const FakeNodeCatalog &catalog, OrderedJson &prompt) : m_catalog(catalog), m_prompt(prompt) { }

    std::variant<NodeResult, PyException> validateInputs(const QString &nodeId);

    QStringList order; // validated, in insertion order
    QHash<QString, NodeResult> results;

private:
    void store(const QString &id, NodeResult r)
    {
        if (!results.contains(id))
            order.append(id);
        results.insert(id, std::move(r));
    }

    const FakeNodeCatalog &m_catalog;
    OrderedJson &m_prompt;
};

std::variant<NodeResult, PyException> Validator::validateInputs(const QString &nodeId)
{
    if (results.contains(nodeId))
        return results.value(nodeId);
    OrderedJson *node = m_prompt.find(nodeId);
    if (!node)
        return PyException{QStringLiteral("KeyError"), OrderedJson::pyRepr(nodeId), {}};
    OrderedJson *inputs = node->find(u"inputs");
    if (!inputs || !inputs->isObject())
        return PyException{QStringLiteral("KeyError"),
                           QStringLiteral("'inputs'"),
                           {kExecutionPy.arg(792).arg(QStringLiteral("validate_inputs"),
                                                      QStringLiteral("inputs = prompt[unique_id]['inputs']"))}};
    const QString classType = node->value(u"class_type").toString();
    const OrderedJson info = m_catalog.objectInfo(classType).value(classType);
    const OrderedJson inputSpec = info.value(u"input");
    const bool customImageCheck = classType == u"LoadImage";

    NodeResult result;
    auto addError = [&result](OrderedJson r) {
        result.reasons.append(std::move(r));
        result.valid = false;
    };

    for (const QString &category : {QStringLiteral("required"), QStringLiteral("optional")}) {
        const OrderedJson section = inputSpec.value(category);
        for (const OrderedJson::Member &spec : section.members()) {
            const QString &x = spec.first;
            const OrderedJson inputType = spec.second.size() > 0 ? spec.second.at(0) : OrderedJson();
            const OrderedJson extra = spec.second.size() > 1 ? spec.second.at(1) : OrderedJson::object();
            const OrderedJson config = OrderedJson::array({inputType, extra});
            OrderedJson *valPtr = inputs->find(x);
            if (!valPtr) {
                if (category == u"required")
                    addError(reason(QStringLiteral("required_input_missing"),
                                    QStringLiteral("Required input is missing"), x,
                                    OrderedJson::object({{QStringLiteral("input_name"), x}})));
                continue;
            }
            OrderedJson val = *valPtr;
            if (val.isArray()) {
                if (val.size() != 2) {
                    addError(
                        reason(QStringLiteral("bad_linked_input"),
                               QStringLiteral("Bad linked input, must be a length-2 list of [node_id, slot_index]"), x,
                               OrderedJson::object({{QStringLiteral("input_name"), x},
                                                    {QStringLiteral("input_config"), config},
                                                    {QStringLiteral("received_value"), val}})));
                    continue;
                }
                const OrderedJson linkId = val.at(0);
                const OrderedJson *linked = linkId.isString() ? m_prompt.find(linkId.toString()) : nullptr;
                if (!linked) {
                    return PyException{
                        QStringLiteral("KeyError"),
                        linkId.isString() ? OrderedJson::pyRepr(linkId.toString()) : linkId.pyStr(),
                        {kExecutionPy.arg(818).arg(QStringLiteral("validate_inputs"),
                                                   QStringLiteral("o_class_type = prompt[o_id]['class_type']\n"
                                                                  "                   ~~~~~~^^^^^^"))}};
                }
                const QStringList returns = m_catalog.returnTypes(linked->value(u"class_type").toString());
                const OrderedJson slot = val.at(1);
                if (!slot.isInt())
                    return PyException{QStringLiteral("TypeError"),
                                       QStringLiteral("tuple indices must be integers or slices, not %1")
                                           .arg(slot.isString() ? QStringLiteral("str") : QStringLiteral("float")),
                                       {}};
                qint64 index = slot.toInt();
                if (index < 0)
                    index += returns.size();
                if (index < 0 || index >= returns.size())
                    return PyException{QStringLiteral("IndexError"), QStringLiteral("tuple index out of range"), {}};
                const QString receivedType = returns.at(index);
                if (!typesCompatible(OrderedJson(receivedType), inputType)) {
                    addError(reason(QStringLiteral("return_type_mismatch"),
                                    QStringLiteral("Return type mismatch between linked nodes"),
                                    QStringLiteral("%1, received_type(%2) mismatch input_type(%3)")
                                        .arg(x, receivedType, inputType.pyStr()),
                                    OrderedJson::object({{QStringLiteral("input_name"), x},
                                                         {QStringLiteral("input_config"), config},
                                                         {QStringLiteral("received_type"), receivedType},
                                                         {QStringLiteral("linked_node"), val}})));
                    continue;
                }
                const QString linkedId = linkId.toString();
                const auto inner = validateInputs(linkedId);
                if (const auto *ex = std::get_if<PyException>(&inner)) {
                    QStringList traceback{kExecutionPy.arg(838).arg(
                        QStringLiteral("validate_inputs"),
                        QStringLiteral("r = await validate_inputs(prompt_id, prompt, o_id, validated)\n        ")
                            + QString(57, u'^'))};
                    traceback += ex->traceback;
                    NodeResult failed;
                    failed.valid = false;
                    failed.reasons.append(
                        reason(QStringLiteral("exception_during_inner_validation"),
                               QStringLiteral("Exception when validating inner node"), ex->message,
                               OrderedJson::object({{QStringLiteral("input_name"), x},
                                                    {QStringLiteral("input_config"), config},
                                                    {QStringLiteral("exception_message"), ex->message},
                                                    {QStringLiteral("exception_type"), ex->type},
                                                    {QStringLiteral("traceback"), OrderedJson::fromStrings(traceback)},
                                                    {QStringLiteral("linked_node"), val}})));
                    store(linkedId, failed);
                    result.valid = false;
                    continue;
                }
                if (!std::get<NodeResult>(inner).valid)
                    result.valid = false;
                continue;
            }

            // A literal.
            if (val.isObject() && val.contains(u"__value__")) {
                val = val.value(u"__value__");
                *valPtr = val;
            }
            const QString typeName = inputType.isString() ? inputType.toString() : QString();
            QString convError;
            std::optional<OrderedJson> converted = val;
            if (typeName == u"INT")
                converted = pyInt(val, &convError);
            else if (typeName == u"FLOAT")
                converted = pyFloatValue(val, &convError);
            else if (typeName == u"STRING")
                converted = OrderedJson(val.pyStr());
            else if (typeName == u"BOOLEAN")
                converted = OrderedJson(pyTruthy(val));
            if (!converted) {
                addError(reason(QStringLiteral("invalid_input_type"),
                                QStringLiteral("Failed to convert an input value to a %1 value").arg(typeName),
                                QStringLiteral("%1, %2, %3").arg(x, val.pyStr(), convError),
                                OrderedJson::object({{QStringLiteral("input_name"), x},
                                                     {QStringLiteral("input_config"), config},
                                                     {QStringLiteral("received_value"), val},
                                                     {QStringLiteral("exception_message"), convError}})));
                continue;
            }
            val = *converted;
            *valPtr = val;

            if (customImageCheck && x == u"image")
                continue; // VALIDATE_INPUTS(image) replaces the combo check
            if (val.isNumber() && extra.contains(u"min") && val.toDouble() < extra.value(u"min").toDouble()) {
                addError(reason(
                    QStringLiteral("value_smaller_than_min"),
                    QStringLiteral("Value %1 smaller than min of %2").arg(val.pyStr(), extra.value(u"min").pyStr()), x,
                    OrderedJson::object({{QStringLiteral("input_name"), x},
                                         {QStringLiteral("input_config"), config},
                                         {QStringLiteral("received_value"), val}})));
                continue;
            }
            if (val.isNumber() && extra.contains(u"max") && val.toDouble() > extra.value(u"max").toDouble()) {
                addError(reason(
                    QStringLiteral("value_bigger_than_max"),
                    QStringLiteral("Value %1 bigger than max of %2").arg(val.pyStr(), extra.value(u"max").pyStr()), x,
                    OrderedJson::object({{QStringLiteral("input_name"), x},
                                         {QStringLiteral("input_config"), config},
                                         {QStringLiteral("received_value"), val}})));
                continue;
            }
            const bool isCombo = inputType.isArray() || typeName == u"COMBO";
            if (isCombo) {
                const OrderedJson options = inputType.isArray() ? inputType : extra.value(u"options");
                bool found = false;
                for (const OrderedJson &option : options.items())
                    found = found || option == val;
                if (!found) {
                    const bool big = options.size() > 20;
                    addError(reason(
                        QStringLiteral("value_not_in_list"), QStringLiteral("Value not in list"),
                        QStringLiteral("%1: '%2' not in %3")
                            .arg(x, val.pyStr(),
                                 big ? QStringLiteral("(list of length %1)").arg(options.size()) : options.pyStr()),
                        OrderedJson::object({{QStringLiteral("input_name"), x},
                                             {QStringLiteral("input_config"), big ? OrderedJson() : config},
                                             {QStringLiteral("received_value"), val}})));
                    continue;
                }
            }
        }
    }

    if (customImageCheck && inputs->contains(u"image") && !inputs->value(u"image").isArray()) {
        const QString image = inputs->value(u"image").pyStr();
        if (!m_catalog.imageExistsCheck(image)) {
            addError(reason(QStringLiteral("custom_validation_failed"),
                            QStringLiteral("Custom validation failed for node"),
                            QStringLiteral("image - Invalid image file: %1").arg(image),
                            OrderedJson::object({{QStringLiteral("input_name"), QStringLiteral("image")}})));
        }
    }

    store(nodeId, result);
    return result;
}

} // namespace

FakeValidation FakeNodeCatalog::validate(OrderedJson &prompt, const std::optional<QStringList> &partialTargets) const
{
    FakeValidation v;
    if (!prompt.isObject()) {
        if (prompt.isArray() && prompt.size() == 0) {
            v.error = reason(QStringLiteral("prompt_no_outputs"), QStringLiteral("Prompt has no outputs"), QString(),
                             OrderedJson::object());
        } else {
            v.serverError = true;
        }
        return v;
    }

    QStringList outputs;
    for (const OrderedJson::Member &node : prompt.members()) {
        const QString &id = node.first;
        if (!node.second.isObject() || !node.second.contains(u"class_type")) {
            v.error = reason(QStringLiteral("invalid_prompt"),
                             QStringLiteral("Cannot execute because a node is missing the class_type property."),
                             QStringLiteral("Node ID '#%1'").arg(id), OrderedJson::object());
            return v;
        }
        const OrderedJson classType = node.second.value(u"class_type");
        if (!classType.isString() || !hasClass(classType.toString())) {
            v.error = reason(QStringLiteral("invalid_prompt"),
                             QStringLiteral("Cannot execute because node %1 does not exist.").arg(classType.pyStr()),
                             QStringLiteral("Node ID '#%1'").arg(id), OrderedJson::object());
            return v;
        }
        if (isOutputNode(classType.toString()) && (!partialTargets || partialTargets->contains(id)))
            outputs.append(id);
    }
    if (outputs.isEmpty()) {
        v.error = reason(QStringLiteral("prompt_no_outputs"), QStringLiteral("Prompt has no outputs"), QString(),
                         OrderedJson::object());
        return v;
    }

    Validator validator(*this, prompt);
    QList<std::pair<QString, OrderedJson>> failed; // output id, its own reasons
    for (const QString &o : outputs) {
        const auto r = validator.validateInputs(o);
        bool valid = false;
        OrderedJson reasons = OrderedJson::array();
        if (const auto *ex = std::get_if<PyException>(&r)) {
            QStringList traceback{kExecutionPy.arg(1017).arg(
                QStringLiteral("validate_prompt"),
                QStringLiteral("m = await validate_inputs(prompt_id, prompt, o, validated)"))};
            traceback += ex->traceback;
            reasons.append(
                reason(QStringLiteral("exception_during_validation"), QStringLiteral("Exception when validating node"),
                       ex->message,
                       OrderedJson::object({{QStringLiteral("exception_type"), ex->type},
                                            {QStringLiteral("traceback"), OrderedJson::fromStrings(traceback)}})));
            NodeResult stored;
            stored.valid = false;
            stored.reasons = reasons;
            if (!validator.results.contains(o))
                validator.order.append(o);
            validator.results.insert(o, stored);
        } else {
            valid = std::get<NodeResult>(r).valid;
            reasons = std::get<NodeResult>(r).reasons;
        }
        if (valid) {
            v.goodOutputs.append(o);
            continue;
        }
        failed.append({o, reasons});
        for (const QString &nodeId : std::as_const(validator.order)) {
            const NodeResult &result = validator.results[nodeId];
            if (result.valid || result.reasons.size() == 0)
                continue;
            OrderedJson *entry = v.nodeErrors.find(nodeId);
            if (!entry) {
                entry = &v.nodeErrors.insert(
                    nodeId,
                    OrderedJson::object({{QStringLiteral("errors"), result.reasons},
                                         {QStringLiteral("dependent_outputs"), OrderedJson::array()},
                                         {QStringLiteral("class_type"), prompt.value(nodeId).value(u"class_type")}}));
            }
            entry->find(u"dependent_outputs")->append(o);
        }
    }

    if (v.goodOutputs.isEmpty()) {
        QStringList lines;
        for (const auto &[o, reasons] : std::as_const(failed)) {
            for (const OrderedJson &r : reasons.items())
                lines.append(r.value(u"message").toString() + QLatin1String(": ") + r.value(u"details").toString());
        }
        v.error = reason(QStringLiteral("prompt_outputs_failed_validation"),
                         QStringLiteral("Prompt outputs failed validation"), lines.join(u'\n'), OrderedJson::object());
        return v;
    }
    v.ok = true;
    return v;
}

} // namespace cr::sim
