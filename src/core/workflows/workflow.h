#pragma once
// A ComfyUI API-format workflow as a value: its name, graph ({node id: {class_type, inputs, _meta}}) and the
// checked ways to edit the graph's inputs (by node and input, by the /update/text rule, by named parameter).
// Copies are cheap (implicitly shared JSON); every edit is all-or-nothing and returns an Error naming node,
// input and reason.

#include "core/workflows/nodereplacements.h"
#include "protocol/error.h"

#include <QByteArray>
#include <QHash>
#include <QJsonObject>
#include <QJsonValue>
#include <QList>
#include <QLoggingCategory>
#include <QMap>
#include <QSet>
#include <QString>
#include <QStringList>

#include <optional>

Q_DECLARE_LOGGING_CATEGORY(lcWorkflows) // "comfyrunner.workflows"

namespace cr {

// The kind of value an input holds now. Integer and Float are told apart by the number's spelling in the
// source file ("7.0", "1e-3" are floats), because Qt's JSON keeps whole doubles as integers.
enum class InputType { String, Integer, Float, Boolean, Link, Other };
QString inputTypeName(InputType type); // "string" | "integer" | "float" | "boolean" | "link" | "other"

// True for a ComfyUI link: ["<source node id>", <output index>].
bool isLink(const QJsonValue &value);

// The inputs the /update/text rule looks for, in order: the first one present on the node is written.
const QStringList &textRuleInputs();

// One literal input of a node (GET /api/v1/workflows/{name} lists them).
struct InputInfo {
    QString name;
    InputType type = InputType::Other;
    QJsonValue value;
    QJsonObject toJson() const; // {"name", "type", "value"}
};

// A node and its editable literal inputs (links and non-scalar values are left out).
struct NodeInfo {
    QString id;
    QString classType;
    QString title; // _meta.title, may be empty
    QList<InputInfo> inputs;
    QJsonObject toJson() const; // {"id", "class_type", "title", "inputs": [InputInfo...]}
};

// A named parameter resolved to one input. source: "mapping" ([node_mappings]), "title" (_meta.title) or
// "node" (addressed directly as "6" / "6.text").
struct Parameter {
    QString name;
    QString nodeId;
    QString input;
    InputType type = InputType::Other;
    QJsonValue value;
    QString source;
    QJsonObject toJson() const; // {"name", "node", "input", "type", "value", "source"}
};

// parameters(): what resolved, and the mappings that did not (each an Error naming the mapping).
struct ParameterList {
    QList<Parameter> parameters;
    QList<Error> problems;
};

// One input written by applyInputs().
struct InputChange {
    QString nodeId;
    QString input;
    QJsonValue value;
};

class Workflow
{
public:
    Workflow() = default; // a null workflow (isNull())

    // Parses and validates a file's bytes (codes invalid_workflow; details name the node/input). A UI-format
    // export is recognised and rejected with instructions to export in API format.
    static Result<Workflow> fromJson(const QString &name, const QByteArray &bytes, const QString &filePath = {});
    // Validates a graph that is already parsed (e.g. part of a request body). Without the source text,
    // whole numbers count as integers.
    static Result<Workflow> fromGraph(const QString &name, const QJsonObject &graph);

    bool isNull() const { return m_graph.isEmpty(); }
    const QString &name() const { return m_name; }
    const QString &filePath() const { return m_filePath; }
    const QJsonObject &graph() const { return m_graph; }     // the API-format prompt to send to ComfyUI
    const QByteArray &contentHash() const { return m_hash; } // of the loaded source; edits keep it

    QStringList nodeIds() const; // numeric ids in numeric order, then the others
    bool hasNode(const QString &nodeId) const { return m_graph.contains(nodeId); }
    QString classType(const QString &nodeId) const;
    QString title(const QString &nodeId) const;
    // The node that saves the image (the Python project's save_image_node_id): the first SaveImage node,
    // else the first node whose class_type contains "SaveImage" (SaveImageWebsocket, ...); "" when none.
    QString saveImageNodeId() const;
    // The current type / value of an input; nullopt / undefined when node or input does not exist.
    std::optional<InputType> inputType(const QString &nodeId, const QString &input) const;
    QJsonValue inputValue(const QString &nodeId, const QString &input) const;
    QList<NodeInfo> editableInputs() const;

    // Writes one input, checked against its current type (an integer is fine for a float input; whole
    // numbers only for integers, exact up to 2^63). A linked input is only replaced (by a literal or another
    // link) with allowLinkOverwrite, which also skips the type check.
    // Codes: unknown_node, unknown_input, type_mismatch, linked_input.
    Status setInput(const QString &nodeId, const QString &input, const QJsonValue &value,
                    bool allowLinkOverwrite = false);
    // The /update/text rule: the first of textRuleInputs() present on the node. Error unknown_input when
    // the node has none of them.
    Result<QString> textInput(const QString &nodeId) const;
    // Writes text to the text-rule input; a number/boolean input takes the text converted ("5", "true").
    Status setText(const QString &nodeId, const QString &text);
    // Writes the "image" string input of LoadImage, LoadImageMask or any node with one.
    Status setImage(const QString &nodeId, const QString &imageName);

    // Named parameters. `mappings` is NodeMappings::forWorkflow(name): "6" (node 6's input named like the
    // parameter if it has one, else its text-rule input) or "6.text". Order: mapping, then "node" / "node.input", then
    // node title (case-insensitive; "_"/"-" count as spaces; "Title" or "Title.input"). A mapping whose node
    // is gone falls back to the title. Codes: unknown_parameter, unknown_node, unknown_input.
    Result<Parameter> resolveParameter(const QString &name, const QMap<QString, QString> &mappings) const;
    // Every mapping (resolved or reported as a problem) and every titled node with a literal text-rule input.
    ParameterList parameters(const QMap<QString, QString> &mappings) const;
    Status setParameter(const QString &name, const QJsonValue &value, const QMap<QString, QString> &mappings,
                        bool allowLinkOverwrite = false);
    // A batch {"prompt": "a cat", "3.seed": 5, "6": {"text": "x"}}: named parameter / "node.input" / "node"
    // (text rule) -> value, or node (id or title) -> {input: value}. All or nothing: on error the workflow
    // is untouched; the error's details carry the offending "key". Two keys writing one input:
    // invalid_request.
    Result<QList<InputChange>> applyInputs(const QJsonObject &inputs, const QMap<QString, QString> &mappings,
                                           bool allowLinkOverwrite = false);

    // The node replacements the backends know (named parameters follow an old input name to its new one).
    void setNodeReplacements(const NodeReplacements &replacements) { m_replacements = replacements; }

private:
    // `input` of node `nodeId`, or the name a node replacement gave it when the node has no such input.
    QString currentInputName(const QString &nodeId, const QString &input) const;
    Status writeChecked(const QString &nodeId, const QString &input, const QJsonValue &value, bool allowLinkOverwrite);
    Result<QString> nodeByTitle(const QString &title) const;
    Result<Parameter> resolveOnNode(const QString &name, const QString &nodeId, const QString &input,
                                    const QString &source) const;
    Result<Parameter> resolveByTitle(const QString &name) const;
    Error nodeError(const char *code, const QString &nodeId, const QString &input, const QString &message) const;

    QString m_name;
    QString m_filePath;
    QJsonObject m_graph;
    QByteArray m_hash;
    QHash<QString, QSet<QString>> m_floatInputs; // node id -> numeric inputs spelled as floats
    NodeReplacements m_replacements;
};

} // namespace cr
