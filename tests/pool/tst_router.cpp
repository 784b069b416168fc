// The pool's Router on its own: the filter (connected, draining, room, class types, model files, tags, pin),
// the choice (affinity, least work, round robin) and the wait/never verdicts, as tables; and needsOf()
// reading class types and model files from a graph.

#include "core/pool/router.h"

#include <QJsonArray>
#include <QtTest>

using namespace cr;
using namespace Qt::StringLiterals;

namespace {

BackendSnapshot backend(const QString &name, int inFlight = 0, const QString &lastCkpt = {})
{
    BackendSnapshot b;
    b.name = name;
    b.connected = true;
    b.capabilitiesKnown = true;
    b.classTypes = {QStringLiteral("KSampler"), QStringLiteral("CheckpointLoaderSimple"), QStringLiteral("LoraLoader")};
    b.models.insert(QStringLiteral("checkpoints"), {QStringLiteral("a.safetensors"), QStringLiteral("b.safetensors")});
    b.inFlight = inFlight;
    b.maxInFlight = 2;
    b.lastCheckpoint = lastCkpt;
    return b;
}

JobNeeds needs(const QString &ckpt = QStringLiteral("a.safetensors"))
{
    JobNeeds n;
    n.classTypes = {QStringLiteral("KSampler"), QStringLiteral("CheckpointLoaderSimple")};
    n.models.append({{QStringLiteral("checkpoints")}, ckpt});
    n.checkpoint = ckpt;
    return n;
}

using Mutate = std::function<void(JobNeeds &, QList<BackendSnapshot> &, RouteOptions &)>;

} // namespace

Q_DECLARE_METATYPE(Mutate)

class TstRouter : public QObject
{
    Q_OBJECT

private slots:
    void route_data();
    void route();
    void roundRobinAmongEquals();
    void needsOfGraph();
    void neverNamesWhatIsMissingWhere();
};

void TstRouter::route_data()
{
    QTest::addColumn<Mutate>("mutate");
    QTest::addColumn<QString>("kind"); // chosen | wait | never
    QTest::addColumn<QString>("chosen");

    const auto row = [](const char *name, Mutate m, const char *kind, const char *chosen = "") {
        QTest::newRow(name) << m << QString::fromLatin1(kind) << QString::fromLatin1(chosen);
    };
    row(
        "least work wins", [](JobNeeds &, QList<BackendSnapshot> &b, RouteOptions &) { b[0].inFlight = 1; }, "chosen",
        "gpu1");
    row(
        "disconnected is skipped",
        [](JobNeeds &, QList<BackendSnapshot> &b, RouteOptions &) { b[0].connected = false; }, "chosen", "gpu1");
    row(
        "draining is skipped", [](JobNeeds &, QList<BackendSnapshot> &b, RouteOptions &) { b[0].draining = true; },
        "chosen", "gpu1");
    row(
        "full is skipped",
        [](JobNeeds &, QList<BackendSnapshot> &b, RouteOptions &) { b[0].inFlight = b[0].maxInFlight; }, "chosen",
        "gpu1");
    row(
        "no limit is never full",
        [](JobNeeds &, QList<BackendSnapshot> &b, RouteOptions &) {
            b.removeLast();
            b[0].maxInFlight = 0;
            b[0].inFlight = 50;
        },
        "chosen", "gpu0");
    row(
        "missing class skips one",
        [](JobNeeds &, QList<BackendSnapshot> &b, RouteOptions &) { b[0].classTypes.remove(u"KSampler"_s); }, "chosen",
        "gpu1");
    row(
        "missing model skips one", [](JobNeeds &, QList<BackendSnapshot> &b, RouteOptions &) { b[0].models.clear(); },
        "chosen", "gpu1");
    row(
        "model in the second folder of two",
        [](JobNeeds &n, QList<BackendSnapshot> &b, RouteOptions &) {
            n.models = {{{QStringLiteral("diffusion_models"), QStringLiteral("unet")}, QStringLiteral("u.gguf")}};
            b[1].models.insert(QStringLiteral("unet"), {QStringLiteral("u.gguf")});
        },
        "chosen", "gpu1");
    row(
        "tag filters",
        [](JobNeeds &n, QList<BackendSnapshot> &b, RouteOptions &) {
            n.requiredTags = {QStringLiteral("sdxl")};
            b[1].tags = {QStringLiteral("fast"), QStringLiteral("sdxl")};
        },
        "chosen", "gpu1");
    row(
        "pinned",
        [](JobNeeds &n, QList<BackendSnapshot> &, RouteOptions &) { n.pinnedBackend = QStringLiteral("gpu1"); },
        "chosen", "gpu1");
    row(
        "affinity beats least work",
        [](JobNeeds &, QList<BackendSnapshot> &b, RouteOptions &) {
            b[1].inFlight = 1;
            b[1].lastCheckpoint = QStringLiteral("a.safetensors");
            b[0].lastCheckpoint = QStringLiteral("b.safetensors");
        },
        "chosen", "gpu1");
    row(
        "least_loaded ignores the checkpoint",
        [](JobNeeds &, QList<BackendSnapshot> &b, RouteOptions &o) {
            o.policy = RoutingPolicy::LeastLoaded;
            b[1].inFlight = 1;
            b[1].lastCheckpoint = QStringLiteral("a.safetensors");
        },
        "chosen", "gpu0");
    row(
        "affinity needs room",
        [](JobNeeds &, QList<BackendSnapshot> &b, RouteOptions &) {
            b[1].inFlight = 2;
            b[1].lastCheckpoint = QStringLiteral("a.safetensors");
        },
        "chosen", "gpu0");
    row(
        "capabilities unchecked in a pool of one",
        [](JobNeeds &, QList<BackendSnapshot> &b, RouteOptions &o) {
            b.removeLast();
            b[0].models.clear();
            b[0].capabilitiesKnown = false;
            o.checkCapabilities = false;
        },
        "chosen", "gpu0");
    row(
        "every one busy waits",
        [](JobNeeds &, QList<BackendSnapshot> &b, RouteOptions &) {
            b[0].inFlight = 2;
            b[1].draining = true;
        },
        "wait");
    row(
        "the only capable one is busy: wait",
        [](JobNeeds &, QList<BackendSnapshot> &b, RouteOptions &) {
            b[0].models.clear();
            b[1].connected = false;
        },
        "wait");
    row(
        "unknown capabilities wait, not never",
        [](JobNeeds &, QList<BackendSnapshot> &b, RouteOptions &) {
            for (BackendSnapshot &s : b) {
                s.capabilitiesKnown = false;
                s.connected = false;
                s.models.clear();
            }
        },
        "wait");
    row(
        "missing class everywhere",
        [](JobNeeds &n, QList<BackendSnapshot> &, RouteOptions &) {
            n.classTypes.insert(QStringLiteral("NoSuchNode"));
        },
        "never");
    row(
        "missing model everywhere",
        [](JobNeeds &n, QList<BackendSnapshot> &, RouteOptions &) {
            n.models.append({{QStringLiteral("loras")}, QStringLiteral("x.safetensors")});
        },
        "never");
    row(
        "missing tag everywhere",
        [](JobNeeds &n, QList<BackendSnapshot> &, RouteOptions &) { n.requiredTags = {QStringLiteral("sdxl")}; },
        "never");
    row(
        "pinned to an unknown name",
        [](JobNeeds &n, QList<BackendSnapshot> &, RouteOptions &) { n.pinnedBackend = QStringLiteral("nope"); },
        "never");
    row(
        "pinned to one that lacks the model",
        [](JobNeeds &n, QList<BackendSnapshot> &b, RouteOptions &) {
            n.pinnedBackend = QStringLiteral("gpu0");
            b[0].models.clear();
        },
        "never");
    row(
        "pinned to one that is busy waits",
        [](JobNeeds &n, QList<BackendSnapshot> &b, RouteOptions &) {
            n.pinnedBackend = QStringLiteral("gpu0");
            b[0].inFlight = 2;
        },
        "wait");
}

void TstRouter::route()
{
    QFETCH(Mutate, mutate);
    QFETCH(QString, kind);
    QFETCH(QString, chosen);
    JobNeeds n = needs();
    QList<BackendSnapshot> b{backend(QStringLiteral("gpu0")), backend(QStringLiteral("gpu1"))};
    RouteOptions o;
    mutate(n, b, o);
    const RouteDecision d = Router::route(n, b, o);
    const QString got = d.kind == RouteDecision::Kind::Chosen ? QStringLiteral("chosen")
        : d.kind == RouteDecision::Kind::Wait                 ? QStringLiteral("wait")
                                                              : QStringLiteral("never");
    QCOMPARE(got, kind);
    QCOMPARE(d.backend, chosen);
    if (kind != u"chosen")
        QVERIFY(!d.reason.isEmpty());
}

void TstRouter::roundRobinAmongEquals()
{
    const QList<BackendSnapshot> b{backend(QStringLiteral("gpu0")), backend(QStringLiteral("gpu1")),
                                   backend(QStringLiteral("gpu2"))};
    QStringList order;
    RouteOptions o;
    for (int i = 0; i < 4; ++i) {
        o.roundRobin = i;
        order << Router::route(needs(), b, o).backend;
    }
    QCOMPARE(order, (QStringList{u"gpu0"_s, u"gpu1"_s, u"gpu2"_s, u"gpu0"_s}));
}

void TstRouter::needsOfGraph()
{
    const QJsonObject graph{
        {u"4"_s,
         QJsonObject{{u"class_type"_s, u"CheckpointLoaderSimple"_s},
                     {u"inputs"_s, QJsonObject{{u"ckpt_name"_s, u"a.safetensors"_s}}}}},
        {u"10"_s,
         QJsonObject{
             {u"class_type"_s, u"LoraLoader"_s},
             {u"inputs"_s, QJsonObject{{u"lora_name"_s, u"l.safetensors"_s}, {u"model"_s, QJsonArray{u"4"_s, 0}}}}}},
        {u"11"_s,
         QJsonObject{{u"class_type"_s, u"UNETLoader"_s}, {u"inputs"_s, QJsonObject{{u"unet_name"_s, u"u.gguf"_s}}}}},
        {u"12"_s,
         QJsonObject{{u"class_type"_s, u"UpscaleModelLoader"_s},
                     {u"inputs"_s, QJsonObject{{u"model_name"_s, u"4x.pth"_s}}}}},
        {u"13"_s,
         QJsonObject{
             {u"class_type"_s, u"Other"_s},
             {u"inputs"_s, QJsonObject{{u"model_name"_s, u"unchecked"_s}, {u"ckpt_name"_s, QJsonArray{u"4"_s, 0}}}}}},
    };
    const JobNeeds n = needsOf(graph);
    QCOMPARE(n.classTypes.size(), 5);
    QVERIFY(n.classTypes.contains(u"UpscaleModelLoader"_s));
    QCOMPARE(n.checkpoint, u"a.safetensors"_s);
    QCOMPARE(n.models.size(), 4);
    QVERIFY(n.models.contains({{u"checkpoints"_s}, u"a.safetensors"_s}));
    QVERIFY(n.models.contains({{u"loras"_s}, u"l.safetensors"_s}));
    QVERIFY(n.models.contains({{u"diffusion_models"_s, u"unet"_s}, u"u.gguf"_s}));
    QVERIFY(n.models.contains({{u"upscale_models"_s}, u"4x.pth"_s}));
}

void TstRouter::neverNamesWhatIsMissingWhere()
{
    JobNeeds n = needs(QStringLiteral("c.safetensors"));
    n.classTypes.insert(QStringLiteral("NoSuchNode"));
    QList<BackendSnapshot> b{backend(QStringLiteral("gpu0")), backend(QStringLiteral("gpu1"))};
    b[1].classTypes.insert(QStringLiteral("NoSuchNode"));
    const RouteDecision d = Router::route(n, b, {});
    QCOMPARE(int(d.kind), int(RouteDecision::Kind::Never));
    const QString gpu0 = d.perBackend.value(u"gpu0"_s).toString();
    const QString gpu1 = d.perBackend.value(u"gpu1"_s).toString();
    QVERIFY2(gpu0.contains(u"node class NoSuchNode"_s) && gpu0.contains(u"model checkpoints/c.safetensors"_s),
             qPrintable(gpu0));
    QVERIFY2(!gpu1.contains(u"NoSuchNode"_s) && gpu1.contains(u"model checkpoints/c.safetensors"_s), qPrintable(gpu1));
}

QTEST_GUILESS_MAIN(TstRouter)
#include "tst_router.moc"
