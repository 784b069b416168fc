// Workflow: API-format validation (UI exports, malformed files, dangling links), typed input writes, the
// /update/text rule, setImage, named parameters (mappings, node ids, titles after renumbering) and the
// atomic batch of applyInputs.

#include "core/workflows/workflow.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QtTest>

using namespace cr;

namespace {

// The example txt2img graph plus nodes for booleans, images, primitives and float spellings.
const QByteArray kGraph
    = R"({
  "3": {"class_type": "KSampler", "_meta": {"title": "KSampler"},
        "inputs": {"seed": 156680208700286, "steps": 20, "cfg": 7.0, "sampler_name": "euler",
                   "denoise": 1.0, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0],
                   "latent_image": ["5", 0]}},
  "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5.safetensors"},
        "_meta": {"title": "Load Checkpoint"}},
  "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
  "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse", "clip": ["4", 1]},
        "_meta": {"title": "Positive Prompt"}},
  "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]},
        "_meta": {"title": "Negative Prompt"}},
  "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
  "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "cr", "images": ["8", 0]},
        "_meta": {"title": "Save Image"}},
  "10": {"class_type": "LoadImage", "inputs": {"image": "in.png", "upload": "image"}},
  "11": {"class_type": "LoadImageMask", "inputs": {"image": "mask.png", "channel": "alpha"}},
  "12": {"class_type": "ImageScale", "inputs": {"image": ["10", 0], "width": 64}},
  "13": {"class_type": "Toggle", "inputs": {"enabled": true, "strength": 1e0, "tiny": -2.5E-3}},
  "14": {"class_type": "PrimitiveInt", "inputs": {"value": 3}, "_meta": {"title": "Batch"}},
  "15": {"class_type": "CLIPTextEncode", "inputs": {"text": ["16", 0], "clip": ["4", 1]}},
  "16": {"class_type": "PrimitiveString", "inputs": {"value": "linked text"}},
)"
      // Escapes, floats outside inputs and nested values, for the number-spelling scanner.
      "\"17\": {\"class_type\": \"Esc\\\"aped\", \"_meta\": {\"title\": \"Odd\", \"scale\": 2.5},"
      " \"inputs\": {\"ca\\u0066g\": 2.0, \"list\": [1.5, {\"x\": 2.0}], \"q\": \"a \\\" 1.5 \\\\\","
      " \"n\": 3, \"o\": {\"v\": 1.5}}}}";

Workflow testWorkflow()
{
    Result<Workflow> r = Workflow::fromJson(QStringLiteral("test"), kGraph);
    if (!r)
        qFatal("test graph invalid: %s", qPrintable(r.error().message));
    return std::move(r).value();
}

const QMap<QString, QString> kMappings{{QStringLiteral("prompt"), QStringLiteral("6")},
                                       {QStringLiteral("negative"), QStringLiteral("7.text")},
                                       {QStringLiteral("seed"), QStringLiteral("3")},
                                       {QStringLiteral("steps"), QStringLiteral("3.steps")},
                                       {QStringLiteral("save_image_node_id"), QStringLiteral("9")},
                                       {QStringLiteral("ollama_node"), QStringLiteral("220")}};

QByteArray compact(const QJsonObject &o) { return QJsonDocument(o).toJson(QJsonDocument::Compact); }

} // namespace

class TstWorkflow : public QObject
{
    Q_OBJECT

private slots:
    void fromJsonErrors_data();
    void fromJsonErrors();
    void repoExampleLoads();
    void inputTypes_data();
    void inputTypes();
    void setInput_data();
    void setInput();
    void floatInputStaysFloat();
    void bigSeedRoundTrip_data();
    void bigSeedRoundTrip();
    void textRule_data();
    void textRule();
    void setTextConverts();
    void setImage_data();
    void setImage();
    void namedParameters_data();
    void namedParameters();
    void renumberedWorkflowByTitle();
    void parameterList();
    void applyInputs();
    void applyInputsIsAtomic_data();
    void applyInputsIsAtomic();
    void editableInputs();
    void subgraphIdsAndNodeReplacements();
};

void TstWorkflow::fromJsonErrors_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("messagePart");
    QTest::addColumn<QString>("detailKey");
    QTest::addColumn<QString>("detailValue");

    QTest::newRow("ui export") << QByteArray(R"({"last_node_id": 9, "last_link_id": 9, "nodes": [], "links": []})")
                               << "Export (API)"
                               << "format"
                               << "ui";
    QTest::newRow("ui export without ids")
        << QByteArray(R"({"nodes": [{"id": 1}], "links": [[1, 1, 0, 2, 0]]})") << "API format"
        << "format"
        << "ui";
    QTest::newRow("malformed") << QByteArray("{\n  \"3\": {\"class_type\": \"KSampler\",\n  \"inputs\": }\n}")
                               << "not valid JSON"
                               << "line"
                               << "3";
    QTest::newRow("array") << QByteArray("[1, 2]") << "JSON object"
                           << "workflow"
                           << "w";
    QTest::newRow("empty") << QByteArray("{}") << "no nodes"
                           << "workflow"
                           << "w";
    QTest::newRow("node not an object") << QByteArray(R"({"3": 5})") << "Node '3'"
                                        << "node"
                                        << "3";
    QTest::newRow("missing class_type") << QByteArray(R"({"3": {"inputs": {}}})") << "class_type"
                                        << "node"
                                        << "3";
    QTest::newRow("empty class_type") << QByteArray(R"({"3": {"class_type": "", "inputs": {}}})") << "class_type"
                                      << "node"
                                      << "3";
    QTest::newRow("missing inputs") << QByteArray(R"({"4": {"class_type": "X"}})") << "no inputs"
                                    << "node"
                                    << "4";
    QTest::newRow("dangling link") << QByteArray(R"({"3": {"class_type": "K", "inputs": {"model": ["4", 0]}}})")
                                   << "links to node '4'"
                                   << "link_target"
                                   << "4";
    QTest::newRow("prompt body") << QByteArray(R"({"prompt": {"3": {"class_type": "K", "inputs": {}}}})")
                                 << "POST /prompt body"
                                 << "node"
                                 << "prompt";
}

void TstWorkflow::fromJsonErrors()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, messagePart);
    QFETCH(QString, detailKey);
    QFETCH(QString, detailValue);

    const Result<Workflow> r = Workflow::fromJson(QStringLiteral("w"), json);
    QVERIFY(!r.ok());
    QCOMPARE(r.error().code, QStringLiteral("invalid_workflow"));
    QVERIFY2(r.error().message.contains(messagePart), qPrintable(r.error().message));
    QCOMPARE(r.error().details.value(QStringLiteral("workflow")).toString(), QStringLiteral("w"));
    QCOMPARE(r.error().details.value(detailKey).toVariant().toString(), detailValue);
}

void TstWorkflow::repoExampleLoads()
{
    QFile f(QStringLiteral(CR_SOURCE_DIR "/workflows/sd15_txt2img.json"));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray bytes = f.readAll();
    const Result<Workflow> r = Workflow::fromJson(QStringLiteral("sd15_txt2img"), bytes, f.fileName());
    QVERIFY2(r.ok(), qPrintable(r.ok() ? QString() : r.error().message));
    const Workflow &wf = *r;
    QCOMPARE(wf.name(), QStringLiteral("sd15_txt2img"));
    QCOMPARE(wf.filePath(), f.fileName());
    QCOMPARE(wf.graph(), QJsonDocument::fromJson(bytes).object());
    QCOMPARE(wf.nodeIds().size(), wf.graph().size());
    QVERIFY(!wf.contentHash().isEmpty());
    // Every node has a class type, and every parameter it lists resolves back to its node.
    for (const QString &id : wf.nodeIds())
        QVERIFY(!wf.classType(id).isEmpty());

    // The same file with a UTF-8 byte order mark loads too, to the same graph and float inputs.
    const Result<Workflow> bom = Workflow::fromJson(QStringLiteral("bom"), "\xEF\xBB\xBF" + bytes);
    QVERIFY(bom.ok());
    QCOMPARE(bom->graph(), wf.graph());
    QCOMPARE(inputTypeName(*bom->inputType(QStringLiteral("3"), QStringLiteral("cfg"))), QStringLiteral("float"));
}

void TstWorkflow::inputTypes_data()
{
    QTest::addColumn<QString>("node");
    QTest::addColumn<QString>("input");
    QTest::addColumn<QString>("type");

    QTest::newRow("seed") << "3"
                          << "seed"
                          << "integer";
    QTest::newRow("cfg spelled 7.0") << "3"
                                     << "cfg"
                                     << "float";
    QTest::newRow("denoise spelled 1.0") << "3"
                                         << "denoise"
                                         << "float";
    QTest::newRow("exponent 1e0") << "13"
                                  << "strength"
                                  << "float";
    QTest::newRow("exponent -2.5E-3") << "13"
                                      << "tiny"
                                      << "float";
    QTest::newRow("width") << "5"
                           << "width"
                           << "integer";
    QTest::newRow("text") << "6"
                          << "text"
                          << "string";
    QTest::newRow("boolean") << "13"
                             << "enabled"
                             << "boolean";
    QTest::newRow("link") << "3"
                          << "model"
                          << "link";
    QTest::newRow("escaped input name") << "17"
                                        << "cafg"
                                        << "float";
    QTest::newRow("after a tricky string") << "17"
                                           << "n"
                                           << "integer";
    QTest::newRow("array") << "17"
                           << "list"
                           << "other";
    QTest::newRow("object") << "17"
                            << "o"
                            << "other";
}

void TstWorkflow::inputTypes()
{
    QFETCH(QString, node);
    QFETCH(QString, input);
    QFETCH(QString, type);
    const Workflow wf = testWorkflow();
    const std::optional<InputType> t = wf.inputType(node, input);
    QVERIFY(t.has_value());
    QCOMPARE(inputTypeName(*t), type);
    QVERIFY(!wf.inputType(node, QStringLiteral("no_such_input")).has_value());
}

void TstWorkflow::setInput_data()
{
    QTest::addColumn<QString>("node");
    QTest::addColumn<QString>("input");
    QTest::addColumn<QJsonValue>("value");
    QTest::addColumn<bool>("allowLink");
    QTest::addColumn<QString>("code"); // empty: success
    QTest::addColumn<QJsonValue>("stored");

    const QJsonValue none;
    QTest::newRow("string into string") << "6"
                                        << "text" << QJsonValue("a cat") << false << "" << QJsonValue("a cat");
    QTest::newRow("string into int") << "3"
                                     << "steps" << QJsonValue("20") << false << "type_mismatch" << none;
    QTest::newRow("3.0 into int") << "3"
                                  << "steps" << QJsonValue(3.0) << false << "" << QJsonValue(3);
    QTest::newRow("3.5 into int") << "3"
                                  << "steps" << QJsonValue(3.5) << false << "type_mismatch" << none;
    QTest::newRow("1e19 into int") << "3"
                                   << "seed" << QJsonValue(1e19) << false << "type_mismatch" << none;
    QTest::newRow("int into float") << "3"
                                    << "cfg" << QJsonValue(8) << false << "" << QJsonValue(8);
    QTest::newRow("float into float") << "3"
                                      << "cfg" << QJsonValue(6.5) << false << "" << QJsonValue(6.5);
    QTest::newRow("string into float") << "3"
                                       << "cfg" << QJsonValue("6.5") << false << "type_mismatch" << none;
    QTest::newRow("bool into string") << "6"
                                      << "text" << QJsonValue(true) << false << "type_mismatch" << none;
    QTest::newRow("bool into int") << "5"
                                   << "width" << QJsonValue(false) << false << "type_mismatch" << none;
    QTest::newRow("int into bool") << "13"
                                   << "enabled" << QJsonValue(1) << false << "type_mismatch" << none;
    QTest::newRow("bool into bool") << "13"
                                    << "enabled" << QJsonValue(false) << false << "" << QJsonValue(false);
    QTest::newRow("null into string") << "6"
                                      << "text" << QJsonValue(QJsonValue::Null) << false << "type_mismatch" << none;
    QTest::newRow("literal over link") << "3"
                                       << "model" << QJsonValue("x") << false << "linked_input" << none;
    QTest::newRow("literal over link, allowed") << "3"
                                                << "model" << QJsonValue("x") << true << "" << QJsonValue("x");
    QTest::newRow("link over literal") << "3"
                                       << "steps" << QJsonValue(QJsonArray{"5", 0}) << false << "type_mismatch" << none;
    QTest::newRow("link over link, allowed")
        << "3"
        << "latent_image" << QJsonValue(QJsonArray{"4", 0}) << true << "" << QJsonValue(QJsonArray{"4", 0});
    QTest::newRow("link to a missing node")
        << "3"
        << "model" << QJsonValue(QJsonArray{"42", 0}) << true << "unknown_node" << none;
    QTest::newRow("unknown node") << "42"
                                  << "text" << QJsonValue("x") << false << "unknown_node" << none;
    QTest::newRow("unknown input") << "3"
                                   << "sampler" << QJsonValue("euler") << false << "unknown_input" << none;
}

void TstWorkflow::setInput()
{
    QFETCH(QString, node);
    QFETCH(QString, input);
    QFETCH(QJsonValue, value);
    QFETCH(bool, allowLink);
    QFETCH(QString, code);
    QFETCH(QJsonValue, stored);

    Workflow wf = testWorkflow();
    const QJsonObject before = wf.graph();
    const Status st = wf.setInput(node, input, value, allowLink);
    if (code.isEmpty()) {
        QVERIFY2(!st, qPrintable(st ? st->message : QString()));
        QCOMPARE(wf.inputValue(node, input), stored);
        // Only that input changed.
        QJsonObject expected = before;
        QJsonObject n = expected.value(node).toObject();
        QJsonObject in = n.value(QStringLiteral("inputs")).toObject();
        in.insert(input, stored);
        n.insert(QStringLiteral("inputs"), in);
        expected.insert(node, n);
        QCOMPARE(wf.graph(), expected);
    } else {
        QVERIFY(st.has_value());
        QCOMPARE(st->code, code);
        QCOMPARE(wf.graph(), before);
        QCOMPARE(st->details.value(QStringLiteral("node")).toString(), node);
        QCOMPARE(st->details.value(QStringLiteral("input")).toString(), input);
        QVERIFY2(st->message.contains(node), qPrintable(st->message));
    }
}

void TstWorkflow::floatInputStaysFloat()
{
    Workflow wf = testWorkflow();
    QVERIFY(!wf.setInput(QStringLiteral("3"), QStringLiteral("cfg"), 8));
    QCOMPARE(inputTypeName(*wf.inputType(QStringLiteral("3"), QStringLiteral("cfg"))), QStringLiteral("float"));
    QVERIFY(!wf.setInput(QStringLiteral("3"), QStringLiteral("cfg"), 6.5));
    // An integer input stays integer after a write.
    QVERIFY(!wf.setInput(QStringLiteral("3"), QStringLiteral("steps"), 30));
    QCOMPARE(wf.setInput(QStringLiteral("3"), QStringLiteral("steps"), 30.5)->code, QStringLiteral("type_mismatch"));
}

void TstWorkflow::bigSeedRoundTrip_data()
{
    QTest::addColumn<qint64>("seed");
    QTest::newRow("example seed") << qint64(156680208700286);
    QTest::newRow("2^53 + 1") << qint64(9007199254740993);
    QTest::newRow("2^63 - 1") << qint64(9223372036854775807);
    QTest::newRow("above 2^32") << qint64(4294967297);
}

void TstWorkflow::bigSeedRoundTrip()
{
    QFETCH(qint64, seed);
    const QByteArray digits = QByteArray::number(seed);

    // Through setInput ...
    Workflow wf = testWorkflow();
    QVERIFY(!wf.setInput(QStringLiteral("3"), QStringLiteral("seed"), QJsonValue(seed)));
    QCOMPARE(wf.inputValue(QStringLiteral("3"), QStringLiteral("seed")).toInteger(), seed);
    QVERIFY(compact(wf.graph()).contains("\"seed\":" + digits + ","));

    // ... from a request body parsed by Qt ...
    const QJsonObject body = QJsonDocument::fromJson("{\"3.seed\": " + digits + "}").object();
    QVERIFY(wf.applyInputs(body, {}).ok());
    QCOMPARE(wf.inputValue(QStringLiteral("3"), QStringLiteral("seed")).toInteger(), seed);

    // ... and from a file.
    QByteArray file = kGraph;
    file.replace("156680208700286", digits);
    const Result<Workflow> loaded = Workflow::fromJson(QStringLiteral("f"), file);
    QVERIFY(loaded.ok());
    QCOMPARE(inputTypeName(*loaded->inputType(QStringLiteral("3"), QStringLiteral("seed"))), QStringLiteral("integer"));
    QVERIFY(compact(loaded->graph()).contains("\"seed\":" + digits + ","));
}

void TstWorkflow::textRule_data()
{
    QTest::addColumn<QStringList>("inputs");
    QTest::addColumn<QString>("chosen"); // empty: no text input (unknown_input)

    QTest::newRow("text before value") << QStringList{"value", "text"} << "text";
    QTest::newRow("value before prompt") << QStringList{"prompt", "value"} << "value";
    QTest::newRow("text_positive before text_negative")
        << QStringList{"text_negative", "text_positive"} << "text_positive";
    QTest::newRow("text_negative before prompt") << QStringList{"prompt", "text_negative"} << "text_negative";
    QTest::newRow("prompt before system") << QStringList{"system", "prompt"} << "prompt";
    QTest::newRow("system before style") << QStringList{"style", "system"} << "system";
    QTest::newRow("style before style_name") << QStringList{"style_name", "style"} << "style";
    QTest::newRow("style_name before key") << QStringList{"key", "style_name"} << "style_name";
    QTest::newRow("key before url") << QStringList{"url", "key"} << "key";
    QTest::newRow("url before model") << QStringList{"model", "url"} << "url";
    QTest::newRow("model alone") << QStringList{"seed", "model"} << "model";
    QTest::newRow("none of them") << QStringList{"seed", "caption"} << "";
}

void TstWorkflow::textRule()
{
    QFETCH(QStringList, inputs);
    QFETCH(QString, chosen);

    QJsonObject in;
    for (const QString &name : inputs)
        in.insert(name, QStringLiteral("old"));
    const QJsonObject graph{
        {QStringLiteral("1"),
         QJsonObject{{QStringLiteral("class_type"), QStringLiteral("N")}, {QStringLiteral("inputs"), in}}}};
    Result<Workflow> r = Workflow::fromGraph(QStringLiteral("t"), graph);
    QVERIFY(r.ok());
    Workflow wf = std::move(r).value();
    const Status st = wf.setText(QStringLiteral("1"), QStringLiteral("new"));
    if (chosen.isEmpty()) {
        QVERIFY(st.has_value());
        QCOMPARE(st->code, QStringLiteral("unknown_input"));
        QCOMPARE(wf.graph(), graph);
        return;
    }
    QVERIFY(!st);
    QCOMPARE(*wf.textInput(QStringLiteral("1")), chosen);
    for (const QString &name : inputs)
        QCOMPARE(wf.inputValue(QStringLiteral("1"), name).toString(), name == chosen ? "new" : "old");
}

void TstWorkflow::setTextConverts()
{
    Workflow wf = testWorkflow();
    QVERIFY(!wf.setText(QStringLiteral("14"), QStringLiteral(" 5 ")));
    QCOMPARE(wf.inputValue(QStringLiteral("14"), QStringLiteral("value")), QJsonValue(5));
    QCOMPARE(wf.setText(QStringLiteral("14"), QStringLiteral("five"))->code, QStringLiteral("type_mismatch"));
    // A linked text input is protected, and names its source.
    const Status linked = wf.setText(QStringLiteral("15"), QStringLiteral("x"));
    QVERIFY(linked.has_value());
    QCOMPARE(linked->code, QStringLiteral("linked_input"));
    QVERIFY(linked->message.contains(QStringLiteral("'16'")));
    QCOMPARE(wf.setText(QStringLiteral("99"), QStringLiteral("x"))->code, QStringLiteral("unknown_node"));
}

void TstWorkflow::setImage_data()
{
    QTest::addColumn<QString>("node");
    QTest::addColumn<QString>("image");
    QTest::addColumn<QString>("code");

    QTest::newRow("LoadImage") << "10"
                               << "upload_01.png"
                               << "";
    QTest::newRow("LoadImage subfolder") << "10"
                                         << "sub/x.png"
                                         << "";
    QTest::newRow("LoadImageMask") << "11"
                                   << "m.png"
                                   << "";
    QTest::newRow("no image input") << "6"
                                    << "x.png"
                                    << "unknown_input";
    QTest::newRow("linked image") << "12"
                                  << "x.png"
                                  << "linked_input";
    QTest::newRow("empty name") << "10"
                                << "  "
                                << "missing_field";
    QTest::newRow("unknown node") << "77"
                                  << "x.png"
                                  << "unknown_node";
}

void TstWorkflow::setImage()
{
    QFETCH(QString, node);
    QFETCH(QString, image);
    QFETCH(QString, code);
    Workflow wf = testWorkflow();
    const QJsonObject before = wf.graph();
    const Status st = wf.setImage(node, image);
    if (code.isEmpty()) {
        QVERIFY2(!st, qPrintable(st ? st->message : QString()));
        QCOMPARE(wf.inputValue(node, QStringLiteral("image")).toString(), image);
    } else {
        QVERIFY(st.has_value());
        QCOMPARE(st->code, code);
        QCOMPARE(st->details.value(QStringLiteral("node")).toString(), node);
        QCOMPARE(wf.graph(), before);
    }
}

void TstWorkflow::namedParameters_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("node");
    QTest::addColumn<QString>("input");
    QTest::addColumn<QString>("source");

    QTest::newRow("mapping to node (text rule)") << "prompt"
                                                 << "6"
                                                 << "text"
                                                 << "mapping";
    QTest::newRow("mapping name, other case") << "Prompt"
                                              << "6"
                                              << "text"
                                              << "mapping";
    QTest::newRow("mapping node.input") << "negative"
                                        << "7"
                                        << "text"
                                        << "mapping";
    QTest::newRow("mapping to node, input by name") << "seed"
                                                    << "3"
                                                    << "seed"
                                                    << "mapping";
    QTest::newRow("node id") << "7"
                             << "7"
                             << "text"
                             << "node";
    QTest::newRow("node.input") << "3.cfg"
                                << "3"
                                << "cfg"
                                << "node";
    QTest::newRow("title") << "Positive Prompt"
                           << "6"
                           << "text"
                           << "title";
    QTest::newRow("title, any case") << "negative prompt"
                                     << "7"
                                     << "text"
                                     << "title";
    QTest::newRow("title, snake case") << "positive_prompt"
                                       << "6"
                                       << "text"
                                       << "title";
    QTest::newRow("title.input") << "KSampler.steps"
                                 << "3"
                                 << "steps"
                                 << "title";
    QTest::newRow("title with primitive") << "batch"
                                          << "14"
                                          << "value"
                                          << "title";
}

void TstWorkflow::namedParameters()
{
    QFETCH(QString, name);
    QFETCH(QString, node);
    QFETCH(QString, input);
    QFETCH(QString, source);

    Workflow wf = testWorkflow();
    const Result<Parameter> p = wf.resolveParameter(name, kMappings);
    QVERIFY2(p.ok(), qPrintable(p.ok() ? QString() : p.error().message));
    QCOMPARE(p->nodeId, node);
    QCOMPARE(p->input, input);
    QCOMPARE(p->source, source);
    QCOMPARE(p->value, wf.inputValue(node, input));
    QCOMPARE(inputTypeName(p->type), inputTypeName(*wf.inputType(node, input)));

    // Writing through the name lands in that input.
    const QJsonValue value = p->type == InputType::String ? QJsonValue("changed") : QJsonValue(2);
    QVERIFY(!wf.setParameter(name, value, kMappings));
    QCOMPARE(wf.inputValue(node, input), value);
}

void TstWorkflow::renumberedWorkflowByTitle()
{
    // The same graph exported again: every id changed (6 -> 106 ...), titles kept.
    QByteArray renumbered = kGraph;
    for (int id = 17; id >= 3; --id)
        renumbered.replace("\"" + QByteArray::number(id) + "\"", "\"" + QByteArray::number(id + 100) + "\"");
    Result<Workflow> r = Workflow::fromJson(QStringLiteral("re"), renumbered);
    QVERIFY2(r.ok(), qPrintable(r.ok() ? QString() : r.error().message));
    Workflow wf = std::move(r).value();

    QVERIFY(!wf.setParameter(QStringLiteral("Positive Prompt"), QJsonValue("a fox"), kMappings));
    QCOMPARE(wf.inputValue(QStringLiteral("106"), QStringLiteral("text")).toString(), QStringLiteral("a fox"));
    QVERIFY(!wf.setParameter(QStringLiteral("ksampler.seed"), QJsonValue(7), kMappings));
    QCOMPARE(wf.inputValue(QStringLiteral("103"), QStringLiteral("seed")).toInteger(), qint64(7));

    // A mapping to a vanished node is an error naming it, and a problem in the list, never a crash.
    const Status st = wf.setParameter(QStringLiteral("prompt"), QJsonValue("x"), kMappings);
    QVERIFY(st.has_value());
    QCOMPARE(st->code, QStringLiteral("unknown_node"));
    QCOMPARE(st->details.value(QStringLiteral("node")).toString(), QStringLiteral("6"));
    const ParameterList list = wf.parameters(kMappings);
    QStringList broken;
    for (const Error &e : list.problems)
        broken.append(e.details.value(QStringLiteral("parameter")).toString());
    QVERIFY2(broken.contains(QStringLiteral("prompt")), qPrintable(broken.join(',')));

    // A mapping whose node is gone falls back to a node titled like the parameter.
    const QMap<QString, QString> titled{{QStringLiteral("Negative Prompt"), QStringLiteral("7")}};
    const Result<Parameter> p = wf.resolveParameter(QStringLiteral("Negative Prompt"), titled);
    QVERIFY(p.ok());
    QCOMPARE(p->nodeId, QStringLiteral("107"));
    QCOMPARE(p->source, QStringLiteral("title"));
}

void TstWorkflow::parameterList()
{
    const Workflow wf = testWorkflow();
    const ParameterList list = wf.parameters(kMappings);
    QHash<QString, Parameter> byName;
    for (const Parameter &p : list.parameters)
        byName.insert(p.name, p);

    QCOMPARE(byName.value(QStringLiteral("prompt")).toJson(),
             (QJsonObject{{"name", "prompt"},
                          {"node", "6"},
                          {"input", "text"},
                          {"type", "string"},
                          {"value", "a lighthouse"},
                          {"source", "mapping"}}));
    QCOMPARE(inputTypeName(byName.value(QStringLiteral("seed")).type), QStringLiteral("integer"));
    QCOMPARE(byName.value(QStringLiteral("seed")).value.toInteger(), Q_INT64_C(156680208700286));
    QCOMPARE(byName.value(QStringLiteral("steps")).input, QStringLiteral("steps"));
    QCOMPARE(byName.value(QStringLiteral("Positive Prompt")).source, QStringLiteral("title"));
    QCOMPARE(byName.value(QStringLiteral("Negative Prompt")).nodeId, QStringLiteral("7"));
    QCOMPARE(inputTypeName(byName.value(QStringLiteral("Batch")).type), QStringLiteral("integer"));
    // Titled nodes without a text input are not parameters; broken mappings are problems.
    QVERIFY(!byName.contains(QStringLiteral("KSampler")));
    QVERIFY(!byName.contains(QStringLiteral("Save Image")));
    QVERIFY(!byName.contains(QStringLiteral("save_image_node_id")));
    QHash<QString, QString> problems;
    for (const Error &e : list.problems)
        problems.insert(e.details.value(QStringLiteral("parameter")).toString(), e.code);
    QCOMPARE(problems.value(QStringLiteral("save_image_node_id")), QStringLiteral("unknown_input"));
    QCOMPARE(problems.value(QStringLiteral("ollama_node")), QStringLiteral("unknown_node"));
    QCOMPARE(list.parameters.size() + list.problems.size(), kMappings.size() + 3); // + the three titles
}

void TstWorkflow::applyInputs()
{
    Workflow wf = testWorkflow();
    const QJsonObject batch{{"prompt", "a cat"},
                            {"3.seed", 5},
                            {"7", QJsonObject{{"text", "x"}}},
                            {"KSampler", QJsonObject{{"steps", 30}, {"cfg", 4.5}}},
                            {"Batch", 2}};
    const Result<QList<InputChange>> r = wf.applyInputs(batch, kMappings);
    QVERIFY2(r.ok(), qPrintable(r.ok() ? QString() : r.error().message));
    QCOMPARE(r->size(), 6);
    QCOMPARE(wf.inputValue("6", "text").toString(), QStringLiteral("a cat"));
    QCOMPARE(wf.inputValue("3", "seed").toInteger(), qint64(5));
    QCOMPARE(wf.inputValue("7", "text").toString(), QStringLiteral("x"));
    QCOMPARE(wf.inputValue("3", "steps").toInteger(), qint64(30));
    QCOMPARE(wf.inputValue("3", "cfg").toDouble(), 4.5);
    QCOMPARE(wf.inputValue("14", "value").toInteger(), qint64(2));
    QVERIFY(wf.applyInputs({}, kMappings).ok());
}

void TstWorkflow::applyInputsIsAtomic_data()
{
    QTest::addColumn<QByteArray>("batch");
    QTest::addColumn<QString>("code");
    QTest::addColumn<QString>("key");

    QTest::newRow("bad type after good keys")
        << QByteArray(R"({"prompt": "a dog", "3.steps": "many"})") << "type_mismatch"
        << "3.steps";
    QTest::newRow("unknown parameter") << QByteArray(R"({"negative": "n", "zzz": 1})") << "unknown_parameter"
                                       << "zzz";
    QTest::newRow("unknown node object") << QByteArray(R"({"prompt": "p", "99": {"text": "x"}})") << "unknown_node"
                                         << "99";
    QTest::newRow("unknown input in node object") << QByteArray(R"({"3": {"steps": 9, "nope": 1}})") << "unknown_input"
                                                  << "3.nope";
    QTest::newRow("linked input") << QByteArray(R"({"prompt": "p", "3.model": "m"})") << "linked_input"
                                  << "3.model";
    QTest::newRow("two keys, one input") << QByteArray(R"({"prompt": "a", "6.text": "b"})") << "invalid_request"
                                         << "prompt";
    QTest::newRow("broken mapping") << QByteArray(R"({"3.steps": 4, "ollama_node": "x"})") << "unknown_node"
                                    << "ollama_node";
}

void TstWorkflow::applyInputsIsAtomic()
{
    QFETCH(QByteArray, batch);
    QFETCH(QString, code);
    QFETCH(QString, key);
    Workflow wf = testWorkflow();
    const QJsonObject before = wf.graph();
    const Result<QList<InputChange>> r = wf.applyInputs(QJsonDocument::fromJson(batch).object(), kMappings);
    QVERIFY(!r.ok());
    QCOMPARE(r.error().code, code);
    QCOMPARE(r.error().details.value(QStringLiteral("key")).toString(), key);
    QCOMPARE(wf.graph(), before);
}

void TstWorkflow::editableInputs()
{
    const Workflow wf = testWorkflow();
    const QList<NodeInfo> nodes = wf.editableInputs();
    QCOMPARE(nodes.size(), wf.graph().size());
    QCOMPARE(nodes.first().id, QStringLiteral("3")); // numeric order: 3 .. 17
    QCOMPARE(nodes.last().id, QStringLiteral("17"));
    QCOMPARE(nodes.last().inputs.size(), 3); // cafg, n, q: the array and the object are not editable
    const NodeInfo &sampler = nodes.first();
    QCOMPARE(sampler.classType, QStringLiteral("KSampler"));
    QStringList names;
    for (const InputInfo &i : sampler.inputs)
        names.append(i.name + QLatin1Char(':') + inputTypeName(i.type));
    names.sort();
    QCOMPARE(names,
             (QStringList{"cfg:float", "denoise:float", "sampler_name:string", "seed:integer", "steps:integer"}));
    QCOMPARE(sampler.toJson().value(QStringLiteral("title")).toString(), QStringLiteral("KSampler"));
}

void TstWorkflow::subgraphIdsAndNodeReplacements()
{
    // Ids as ComfyUI's editor exports nodes of a subgraph ("<subgraph node>:<inner node>"), and a node whose
    // class replaced a deprecated one ("factor" became "scale_by").
    const QByteArray graph = R"({
        "194:6": {"class_type": "CLIPTextEncode", "_meta": {"title": "Inner Prompt"},
                  "inputs": {"text": "a", "clip": ["4", 1]}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
        "194:45": {"class_type": "ImageScaleBy", "_meta": {"title": "Upscale"},
                   "inputs": {"image": ["8", 0], "upscale_method": "nearest-exact", "scale_by": 1.0}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["4", 0], "vae": ["4", 2]}}})";
    Result<Workflow> parsed = Workflow::fromJson(QStringLiteral("sub"), graph);
    QVERIFY2(parsed.ok(), qPrintable(parsed.ok() ? QString() : parsed.error().message));
    Workflow wf = *parsed;
    const QMap<QString, QString> mappings{{QStringLiteral("prompt"), QStringLiteral("194:6.text")},
                                          {QStringLiteral("scale"), QStringLiteral("194:45.factor")}};
    const Result<Parameter> prompt = wf.resolveParameter(QStringLiteral("prompt"), mappings);
    QVERIFY(prompt.ok());
    QCOMPARE(prompt->nodeId, QStringLiteral("194:6"));
    QCOMPARE(prompt->input, QStringLiteral("text"));
    QCOMPARE(wf.resolveParameter(QStringLiteral("194:6"), {})->input, QStringLiteral("text")); // the text rule
    // No replacement known: the old name is unknown.
    QCOMPARE(wf.resolveParameter(QStringLiteral("scale"), mappings).error().code, QStringLiteral("unknown_input"));

    const NodeReplacements table = NodeReplacements::fromJson(QJsonDocument::fromJson(R"({"OldScaleBy": [
        {"new_node_id": "ImageScaleBy", "old_node_id": "OldScaleBy",
         "input_mapping": [{"new_id": "scale_by", "old_id": "factor"}, {"new_id": "x", "set_value": 1}]}]})")
                                                                  .object());
    QVERIFY(!table.isEmpty());
    QCOMPARE(table.renamedInput(QStringLiteral("ImageScaleBy"), QStringLiteral("factor")), QStringLiteral("scale_by"));
    QVERIFY(table.renamedInput(QStringLiteral("ImageScale"), QStringLiteral("factor")).isEmpty());
    wf.setNodeReplacements(table);
    for (const QString &name :
         {QStringLiteral("scale"), QStringLiteral("194:45.factor"), QStringLiteral("Upscale.factor")}) {
        const Result<Parameter> p = wf.resolveParameter(name, mappings);
        QVERIFY2(p.ok(), qPrintable(name));
        QCOMPARE(p->nodeId, QStringLiteral("194:45"));
        QCOMPARE(p->input, QStringLiteral("scale_by"));
    }
    const auto applied
        = wf.applyInputs(QJsonDocument::fromJson(R"({"prompt": "b", "194:45": {"factor": 2.5}})").object(), mappings);
    QVERIFY(applied.ok());
    QCOMPARE(wf.inputValue(QStringLiteral("194:6"), QStringLiteral("text")).toString(), QStringLiteral("b"));
    QCOMPARE(wf.inputValue(QStringLiteral("194:45"), QStringLiteral("scale_by")).toDouble(), 2.5);
    QVERIFY(
        !wf.graph()[QStringLiteral("194:45")][QStringLiteral("inputs")].toObject().contains(QStringLiteral("factor")));
    // A replacement never hides an input the node has.
    QCOMPARE(wf.resolveParameter(QStringLiteral("194:45.scale_by"), {})->input, QStringLiteral("scale_by"));
    // Merging: the first mapping of an input wins.
    NodeReplacements merged = table;
    merged.merge(NodeReplacements::fromJson(
        QJsonDocument::fromJson(
            R"({"Other": [{"new_node_id": "ImageScaleBy", "input_mapping": [{"new_id": "upscale_method", "old_id": "factor"},
                                                                       {"new_id": "upscale_method", "old_id": "method"}]}]})")
            .object()));
    QCOMPARE(merged.renamedInput(QStringLiteral("ImageScaleBy"), QStringLiteral("factor")), QStringLiteral("scale_by"));
    QCOMPARE(merged.renamedInput(QStringLiteral("ImageScaleBy"), QStringLiteral("method")),
             QStringLiteral("upscale_method"));
}

QTEST_GUILESS_MAIN(TstWorkflow)
#include "tst_workflow.moc"
