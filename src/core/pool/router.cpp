#include "core/pool/router.h"

#include <QJsonArray>

namespace cr {

namespace {

// Input name -> the folders its file may be in.
QStringList foldersFor(const QString &classType, const QString &input)
{
    if (input == u"ckpt_name")
        return {QStringLiteral("checkpoints")};
    if (input == u"lora_name")
        return {QStringLiteral("loras")};
    if (input == u"vae_name")
        return {QStringLiteral("vae")};
    if (input == u"control_net_name")
        return {QStringLiteral("controlnet")};
    if (input == u"unet_name")
        return {QStringLiteral("diffusion_models"), QStringLiteral("unet")};
    if (input == u"clip_name")
        return {QStringLiteral("text_encoders"), QStringLiteral("clip")};
    if (input == u"model_name" && classType == u"UpscaleModelLoader")
        return {QStringLiteral("upscale_models")};
    return {};
}

} // namespace

QStringList modelFoldersOfInterest()
{
    return {QStringLiteral("checkpoints"),
            QStringLiteral("loras"),
            QStringLiteral("vae"),
            QStringLiteral("controlnet"),
            QStringLiteral("diffusion_models"),
            QStringLiteral("unet"),
            QStringLiteral("text_encoders"),
            QStringLiteral("clip"),
            QStringLiteral("upscale_models")};
}

JobNeeds needsOf(const QJsonObject &graph)
{
    JobNeeds n;
    QStringList ids = graph.keys();
    std::sort(ids.begin(), ids.end(), [](const QString &a, const QString &b) {
        bool okA = false, okB = false;
        const int ia = a.toInt(&okA), ib = b.toInt(&okB);
        return okA && okB ? ia < ib : a < b;
    });
    for (const QString &id : std::as_const(ids)) {
        const QJsonObject node = graph.value(id).toObject();
        const QString cls = node.value(QLatin1String("class_type")).toString();
        if (!cls.isEmpty())
            n.classTypes.insert(cls);
        const QJsonObject inputs = node.value(QLatin1String("inputs")).toObject();
        for (auto it = inputs.begin(); it != inputs.end(); ++it) {
            if (!it.value().isString())
                continue; // a link ([node, slot]) or a literal of another type
            const QStringList folders = foldersFor(cls, it.key());
            if (folders.isEmpty())
                continue;
            const JobNeeds::Model m{folders, it.value().toString()};
            if (!n.models.contains(m))
                n.models.append(m);
            if (it.key() == u"ckpt_name" && n.checkpoint.isEmpty())
                n.checkpoint = m.file;
        }
    }
    return n;
}

QStringList Router::missing(const JobNeeds &needs, const BackendSnapshot &b, bool checkCapabilities)
{
    QStringList out;
    for (const QString &tag : needs.requiredTags)
        if (!b.tags.contains(tag))
            out << QStringLiteral("tag \"%1\"").arg(tag);
    if (!checkCapabilities || !b.capabilitiesKnown)
        return out;
    QStringList classes(needs.classTypes.cbegin(), needs.classTypes.cend());
    classes.sort();
    for (const QString &c : std::as_const(classes))
        if (!b.classTypes.contains(c))
            out << QStringLiteral("node class %1").arg(c);
    for (const JobNeeds::Model &m : needs.models) {
        bool found = false;
        for (const QString &folder : m.folders)
            found = found || b.models.value(folder).contains(m.file);
        if (!found)
            out << QStringLiteral("model %1/%2").arg(m.folders.join(QLatin1Char('|')), m.file);
    }
    return out;
}

RouteDecision Router::route(const JobNeeds &needs, const QList<BackendSnapshot> &backends, const RouteOptions &options)
{
    RouteDecision d;
    QList<int> candidates;
    for (int i = 0; i < backends.size(); ++i)
        if (needs.pinnedBackend.isEmpty() || backends.at(i).name == needs.pinnedBackend)
            candidates << i;
    if (candidates.isEmpty()) {
        d.kind = RouteDecision::Kind::Never;
        d.reason = needs.pinnedBackend.isEmpty()
            ? QStringLiteral("the pool has no backend")
            : QStringLiteral("no backend is named \"%1\"").arg(needs.pinnedBackend);
        return d;
    }
    QList<int> available;
    bool anyPossible = false;
    for (int i : std::as_const(candidates)) {
        const BackendSnapshot &b = backends.at(i);
        const QStringList lacks = missing(needs, b, options.checkCapabilities);
        if (!lacks.isEmpty()) {
            d.perBackend.insert(b.name, QStringLiteral("lacks %1").arg(lacks.join(QStringLiteral(", "))));
            continue;
        }
        anyPossible = true;
        QString busy;
        if (!b.connected && options.requireConnection)
            busy = QStringLiteral("not connected");
        else if (options.checkCapabilities && !b.capabilitiesKnown)
            busy = QStringLiteral("its nodes and models are not known yet");
        else if (b.draining)
            busy = QStringLiteral("draining");
        else if (!b.hasRoom())
            busy = QStringLiteral("full (%1 of %2 in flight)").arg(b.inFlight).arg(b.maxInFlight);
        if (busy.isEmpty())
            available << i;
        else
            d.perBackend.insert(b.name, busy);
    }
    if (!anyPossible) {
        d.kind = RouteDecision::Kind::Never;
        d.reason = needs.pinnedBackend.isEmpty()
            ? QStringLiteral("no backend can run this job")
            : QStringLiteral("backend \"%1\" cannot run this job").arg(needs.pinnedBackend);
        return d;
    }
    if (available.isEmpty()) {
        d.kind = RouteDecision::Kind::Wait;
        d.reason = QStringLiteral("every backend that can run it is busy, draining or disconnected");
        return d;
    }
    // Same checkpoint as the last run (a model switch costs seconds on a GPU), then the least work.
    if (options.policy == RoutingPolicy::Affinity && !needs.checkpoint.isEmpty()) {
        QList<int> same;
        for (int i : std::as_const(available))
            if (backends.at(i).lastCheckpoint == needs.checkpoint)
                same << i;
        if (!same.isEmpty())
            available = same;
    }
    int least = std::numeric_limits<int>::max();
    for (int i : std::as_const(available))
        least = qMin(least, backends.at(i).inFlight);
    QList<int> equal;
    for (int i : std::as_const(available))
        if (backends.at(i).inFlight == least)
            equal << i;
    // Round robin among equals: the first at or after the cursor, in configuration order.
    const int n = int(backends.size());
    const int start = ((options.roundRobin % n) + n) % n;
    int chosen = equal.first();
    int bestDistance = n;
    for (int i : std::as_const(equal)) {
        const int distance = (i - start + n) % n;
        if (distance < bestDistance)
            bestDistance = distance, chosen = i;
    }
    d.kind = RouteDecision::Kind::Chosen;
    d.backend = backends.at(chosen).name;
    return d;
}

} // namespace cr
