#pragma once
// The pool's routing rule, pure (no Qt objects, no I/O): given what a job needs and a snapshot of every
// backend, it answers "hand it to X", "wait" or "never" (no configured backend could ever take it, with what is
// missing where). Filter: connected, not draining, has room, has every class_type and every model file of the
// graph, has the required tags; then, in affinity mode, the backend whose last run used the same checkpoint;
// then the least work; then round robin. Table-tested in tests/pool.

#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QMap>
#include <QSet>
#include <QString>
#include <QStringList>

namespace cr {

// What one job asks of a backend, read from its graph (needsOf) and its request.
struct JobNeeds {
    QSet<QString> classTypes;
    // One entry per model file the graph names: the folders it may live in ("diffusion_models|unet" is
    // {"diffusion_models", "unet"}) and its file name.
    struct Model {
        QStringList folders;
        QString file;
        bool operator==(const Model &) const = default;
    };
    QList<Model> models;
    QString checkpoint;       // the first ckpt_name (for affinity); empty when none
    QStringList requiredTags; // every one must be on the backend
    QString pinnedBackend;    // empty: any
};

// Reads the class types and the model files (ckpt_name -> checkpoints, lora_name -> loras, vae_name -> vae,
// control_net_name -> controlnet, unet_name -> diffusion_models|unet, clip_name -> text_encoders|clip,
// UpscaleModelLoader's model_name -> upscale_models) of an API-format graph. Linked inputs and inputs of
// other names are not checked.
JobNeeds needsOf(const QJsonObject &graph);
// The model folders needsOf can name, for a backend to list (GET /models/{folder}).
QStringList modelFoldersOfInterest();

// What the router knows of one backend at one moment.
struct BackendSnapshot {
    QString name;
    QStringList tags;
    bool connected = false;
    bool draining = false;
    bool capabilitiesKnown = false; // false until /object_info and /models were read once
    QSet<QString> classTypes;
    QHash<QString, QSet<QString>> models; // folder -> files (folders the backend has)
    int inFlight = 0;
    int maxInFlight = 2; // 0 = no limit
    QString lastCheckpoint;
    bool hasRoom() const { return maxInFlight <= 0 || inFlight < maxInFlight; }
};

enum class RoutingPolicy { Affinity, LeastLoaded };

struct RouteDecision {
    enum class Kind { Chosen, Wait, Never };
    Kind kind = Kind::Wait;
    QString backend;        // Chosen: its name
    QString reason;         // Wait / Never: a sentence
    QJsonObject perBackend; // Never (and Wait): backend name -> why it cannot take the job
};

struct RouteOptions {
    RoutingPolicy policy = RoutingPolicy::Affinity;
    // false: class types and model files are not checked (a pool of one: ComfyUI's own validation answers,
    // with its node_errors).
    bool checkCapabilities = true;
    // false: a disconnected backend still qualifies (a pool of one at submit time: the submission answers
    // comfy_unreachable at once, as before pools).
    bool requireConnection = true;
    int roundRobin = 0; // the next start index among equals; the caller advances it after each choice
};

class Router
{
public:
    static RouteDecision route(const JobNeeds &needs, const QList<BackendSnapshot> &backends,
                               const RouteOptions &options);
    // Why this backend can never take the job (missing class, model or tag); empty when it could.
    static QStringList missing(const JobNeeds &needs, const BackendSnapshot &backend, bool checkCapabilities);
};

} // namespace cr
