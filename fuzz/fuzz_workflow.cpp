// Fuzz target: loading a ComfyUI API-format workflow and editing it through the Workflow API
// (core/workflows: fromJson with its float-spelling scanner, editable inputs, named parameters, applyInputs,
// setText/setImage/setInput). Input: the workflow file's bytes, optionally "\n----\n" and a JSON object of
// edits as POST /api/v1/jobs takes them ("inputs"), with an optional "__mappings" object ([node_mappings]).
// Invariants: a failed batch leaves the graph untouched; a successful one holds the values it reports.

#include "fuzzsupport.h"

#include "core/workflows/workflow.h"

#include <QJsonDocument>

namespace {

QMap<QString, QString> mappingsFrom(const QJsonObject &object)
{
    QMap<QString, QString> out;
    for (auto it = object.begin(); it != object.end(); ++it)
        out.insert(it.key(), it.value().toString());
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cr::fuzz::quietQt();
    const auto [file, editsText] = cr::fuzz::splitSections(cr::fuzz::bytes(data, size));
    auto loaded = cr::Workflow::fromJson(QStringLiteral("fuzz"), file);
    if (!loaded) {
        CR_FUZZ_CHECK(!loaded.error().code.isEmpty());
        return 0;
    }
    cr::Workflow workflow = loaded.value();
    CR_FUZZ_CHECK(!workflow.isNull());
    QJsonObject inputs = QJsonDocument::fromJson(editsText).object();
    const QMap<QString, QString> mappings = mappingsFrom(inputs.take(QStringLiteral("__mappings")).toObject());

    // What GET /api/v1/workflows/{name} shows.
    for (const cr::NodeInfo &node : workflow.editableInputs())
        (void)node.toJson();
    for (const cr::Parameter &p : workflow.parameters(mappings).parameters)
        (void)p.toJson();

    // POST /api/v1/jobs "inputs": all or nothing.
    const QJsonObject before = workflow.graph();
    const auto changes = workflow.applyInputs(inputs, mappings);
    if (!changes) {
        CR_FUZZ_CHECK(workflow.graph() == before);
    } else {
        for (const cr::InputChange &c : *changes)
            CR_FUZZ_CHECK(workflow.inputValue(c.nodeId, c.input) == c.value);
    }

    // The single-input edits of the legacy routes and PATCH /api/v1/draft, on every node the edits name.
    for (auto it = inputs.begin(); it != inputs.end(); ++it) {
        (void)workflow.resolveParameter(it.key(), mappings);
        const QString text = it.value().toString();
        for (const QString &nodeId : workflow.nodeIds()) {
            (void)workflow.textInput(nodeId);
            (void)workflow.setText(nodeId, text);
            (void)workflow.setImage(nodeId, text);
            (void)workflow.setInput(nodeId, it.key(), it.value());
            (void)workflow.inputType(nodeId, it.key());
        }
        (void)workflow.setParameter(it.key(), it.value(), mappings, true);
    }
    // A workflow that loaded from a file also loads from its (edited) graph.
    CR_FUZZ_CHECK(cr::Workflow::fromGraph(QStringLiteral("fuzz"), workflow.graph()).ok());
    return 0;
}
