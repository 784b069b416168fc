// FakeNodeCatalog's lookups over the node classes (the trimmed /object_info resource) and the dynamic combo
// lists; the prompt validation is in fakepromptvalidation.cpp.
#include "sim/fakenodecatalog.h"

#include <QFile>
#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcFakeCatalog, "comfyrunner.fake.catalog")

namespace cr::sim {

FakeNodeCatalog::FakeNodeCatalog()
    : m_checkpoints{QStringLiteral("broken_ckpt.safetensors"), QStringLiteral("rand_sd15.safetensors"),
                    QStringLiteral("v1-5-pruned-emaonly.safetensors")}
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
    auto setCombo = [&info](const QString &input, const QStringList &values) {
        OrderedJson *required = info.find(u"input") ? info.find(u"input")->find(u"required") : nullptr;
        OrderedJson *spec = required ? required->find(input) : nullptr;
        if (!spec || !spec->isArray() || spec->size() == 0)
            return;
        OrderedJson replaced = OrderedJson::array({OrderedJson::fromStrings(values)});
        for (qsizetype i = 1; i < spec->size(); ++i)
            replaced.append(spec->at(i));
        *spec = replaced;
    };
    if (classType == u"CheckpointLoaderSimple")
        setCombo(QStringLiteral("ckpt_name"), m_checkpoints);
    else if (classType == u"LoadImage")
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
