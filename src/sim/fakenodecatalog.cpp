// FakeNodeCatalog's lookups over the node classes (the trimmed /object_info resource) and the dynamic combo
// lists; the prompt validation is in fakepromptvalidation.cpp.
#include "sim/fakenodecatalog.h"

#include <QFile>
#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcFakeCatalog, "comfyrunner.fake.catalog")

namespace cr::sim {

namespace {

// Combo inputs whose options are a model folder's files (nodes.py: folder_paths.get_filename_list), plus
// what the node appends (VAELoader.vae_list ends with "pixel_space").
struct ModelCombo {
    QLatin1StringView input;
    QLatin1StringView folder;
    QLatin1StringView appended;
};
constexpr ModelCombo kModelCombos[] = {
    {QLatin1StringView("ckpt_name"), QLatin1StringView("checkpoints"), QLatin1StringView()},
    {QLatin1StringView("lora_name"), QLatin1StringView("loras"), QLatin1StringView()},
    {QLatin1StringView("vae_name"), QLatin1StringView("vae"), QLatin1StringView("pixel_space")},
};

} // namespace

const QStringList &FakeNodeCatalog::modelFolders()
{
    static const QStringList folders{
        QStringLiteral("checkpoints"),  QStringLiteral("configs"),        QStringLiteral("loras"),
        QStringLiteral("vae"),          QStringLiteral("text_encoders"),  QStringLiteral("diffusion_models"),
        QStringLiteral("clip_vision"),  QStringLiteral("style_models"),   QStringLiteral("embeddings"),
        QStringLiteral("diffusers"),    QStringLiteral("vae_approx"),     QStringLiteral("controlnet"),
        QStringLiteral("gligen"),       QStringLiteral("upscale_models"), QStringLiteral("latent_upscale_models"),
        QStringLiteral("custom_nodes"), QStringLiteral("hypernetworks"),  QStringLiteral("photomaker"),
        QStringLiteral("classifiers"),  QStringLiteral("model_patches"),  QStringLiteral("audio_encoders")};
    return folders;
}

bool FakeNodeCatalog::setModels(const QString &folder, const QStringList &names)
{
    if (!modelFolders().contains(folder))
        return false;
    m_models.insert(folder, names);
    return true;
}

FakeNodeCatalog::FakeNodeCatalog()
    : m_models{{QStringLiteral("checkpoints"),
                {QStringLiteral("broken_ckpt.safetensors"), QStringLiteral("rand_sd15.safetensors"),
                 QStringLiteral("v1-5-pruned-emaonly.safetensors")}}}
{
    QFile file(QStringLiteral(":/fakecomfy/object_info.json"));
    if (!file.open(QIODevice::ReadOnly)) {
        qCCritical(lcFakeCatalog) << "missing resource" << file.fileName();
        return;
    }
    QString error;
    if (std::optional<OrderedJson> info = OrderedJson::parse(file.readAll(), &error))
        m_info = *info;
    else
        qCCritical(lcFakeCatalog) << "bad object_info resource:" << error;
    // The simulator's own output nodes (one per output kind: gifs, video, audio, 3d, text, an unknown key).
    QFile sim(QStringLiteral(":/fakecomfy/sim_nodes.json"));
    if (!sim.open(QIODevice::ReadOnly)) {
        qCCritical(lcFakeCatalog) << "missing resource" << sim.fileName();
        return;
    }
    if (std::optional<OrderedJson> extra = OrderedJson::parse(sim.readAll(), &error)) {
        for (const QString &name : extra->keys())
            m_info.insert(name, extra->value(name));
    } else {
        qCCritical(lcFakeCatalog) << "bad sim_nodes resource:" << error;
    }
}

bool FakeNodeCatalog::imageExistsCheck(const QString &annotatedName) const
{
    return m_imageExists ? m_imageExists(annotatedName) : m_inputImages.contains(annotatedName);
}

bool FakeNodeCatalog::isOutputNode(const QString &classType) const
{
    return m_info.value(classType).value(u"output_node").toBool();
}

QStringList FakeNodeCatalog::returnTypes(const QString &classType) const
{
    return m_info.value(classType).value(u"output").toStringList();
}

OrderedJson FakeNodeCatalog::classInfo(const QString &classType) const
{
    OrderedJson info = m_info.value(classType);
    // Replaces the option list of a combo input (required or optional), keeping its options object.
    auto setCombo = [&info](const QString &input, const QStringList &values) {
        OrderedJson *inputs = info.find(u"input");
        for (const char16_t *section : {u"required", u"optional"}) {
            OrderedJson *group = inputs ? inputs->find(QStringView(section)) : nullptr;
            OrderedJson *spec = group ? group->find(input) : nullptr;
            if (!spec || !spec->isArray() || spec->size() == 0 || !spec->at(0).isArray())
                continue;
            OrderedJson replaced = OrderedJson::array({OrderedJson::fromStrings(values)});
            for (qsizetype i = 1; i < spec->size(); ++i)
                replaced.append(spec->at(i));
            *spec = replaced;
        }
    };
    for (const ModelCombo &combo : kModelCombos) {
        QStringList values = m_models.value(QString(combo.folder));
        if (!combo.appended.isEmpty())
            values.append(QString(combo.appended));
        setCombo(QString(combo.input), values);
    }
    if (classType == u"LoadImage")
        setCombo(QStringLiteral("image"), m_inputImages);
    return info;
}

OrderedJson FakeNodeCatalog::objectInfo() const
{
    OrderedJson all = OrderedJson::object();
    for (const QString &name : m_info.keys())
        all.insert(name, classInfo(name));
    return all;
}

OrderedJson FakeNodeCatalog::objectInfo(const QString &classType) const
{
    if (!m_info.contains(classType))
        return OrderedJson::object();
    return OrderedJson::object({{classType, classInfo(classType)}});
}

} // namespace cr::sim
