#pragma once
// The node classes the fake ComfyUI knows (a trimmed copy of the captured /object_info, as a Qt resource)
// and ComfyUI 0.8's prompt validation over them (execution.py: validate_prompt / validate_inputs): same
// error types, messages, details, extra_info, dependent_outputs and the in-place value coercion
// (fakenodecatalog.cpp: the lookups; fakepromptvalidation.cpp: validate()).

#include "sim/orderedjson.h"

#include <QHash>
#include <QStringList>

#include <functional>
#include <optional>

namespace cr::sim {

struct FakeValidation {
    bool ok = false;
    bool serverError = false; // ComfyUI would raise outside its handlers: answer 500
    OrderedJson error;        // {type, message, details, extra_info} when !ok
    OrderedJson nodeErrors = OrderedJson::object();
    QStringList goodOutputs; // outputs_to_execute, in prompt order
};

class FakeNodeCatalog
{
public:
    FakeNodeCatalog();

    // The model folders of GET /models: ComfyUI 0.8's folder_names_and_paths keys, in its order.
    static const QStringList &modelFolders();
    // Combo lists that depend on the server's files. The files of one model folder (GET /models/{folder})
    // fill the loaders' combo inputs wherever they appear (ckpt_name: checkpoints, lora_name: loras,
    // vae_name: vae then "pixel_space"), so validation refuses a name not in the list (value_not_in_list).
    // setModels returns false (and changes nothing) for a folder not in modelFolders().
    bool setModels(const QString &folder, const QStringList &names);
    QStringList models(const QString &folder) const { return m_models.value(folder); }
    void setCheckpoints(const QStringList &names) { m_models.insert(QStringLiteral("checkpoints"), names); }
    QStringList checkpoints() const { return models(QStringLiteral("checkpoints")); }
    void setInputImages(const QStringList &names) { m_inputImages = names; }
    // LoadImage's custom validation (folder_paths.exists_annotated_filepath).
    void setImageExists(std::function<bool(const QString &)> exists) { m_imageExists = std::move(exists); }
    bool imageExistsCheck(const QString &annotatedName) const;

    bool hasClass(const QString &classType) const { return m_info.contains(classType); }
    bool isOutputNode(const QString &classType) const;
    QStringList returnTypes(const QString &classType) const;
    QStringList classes() const { return m_info.keys(); }

    OrderedJson objectInfo() const;                         // every class
    OrderedJson objectInfo(const QString &classType) const; // {Class: info}, or {} when unknown

    // Validates `prompt` (an API-format graph) and coerces literal inputs in place, like ComfyUI.
    // partialTargets: partial_execution_targets when given.
    FakeValidation validate(OrderedJson &prompt, const std::optional<QStringList> &partialTargets) const;

private:
    OrderedJson classInfo(const QString &classType) const; // with the dynamic combo lists filled in

    OrderedJson m_info;
    QHash<QString, QStringList> m_models; // folder -> file names (absent = empty)
    QStringList m_inputImages;
    std::function<bool(const QString &)> m_imageExists;
};

} // namespace cr::sim
