#include "sim/fakegraph.h"

#include "sim/fakefilestore.h"
#include "sim/fakeimages.h"
#include "sim/fakenodecatalog.h"

#include <QCryptographicHash>
#include <QRandomGenerator>
#include <QUuid>

#include <cmath>

namespace cr::sim {

namespace {

// How ComfyUI's format_value prints a linked (non-primitive) input in execution_error.current_inputs.
QString objectRepr(const QString &type)
{
    const quint64 address = 0x7f0000000000ULL + (QRandomGenerator::global()->generate64() & 0xffffffff0ULL);
    const QString at = QStringLiteral(" object at 0x%1>").arg(address, 0, 16);
    if (type == u"MODEL")
        return QStringLiteral("<comfy.model_patcher.ModelPatcher") + at;
    if (type == u"CLIP")
        return QStringLiteral("<comfy.sd.CLIP") + at;
    if (type == u"VAE")
        return QStringLiteral("<comfy.sd.VAE") + at;
    if (type == u"LATENT")
        return QStringLiteral("{'samples': tensor([[[[0., 0.],\n          [0., 0.]]]])}");
    if (type == u"CONDITIONING")
        return QStringLiteral("[[tensor([[[-0.3885,  0.0230, -0.0521,  ...]]]), {'pooled_output': tensor([[...]])}]]");
    if (type == u"IMAGE")
        return QStringLiteral("tensor([[[[0.5000, 0.5000, 0.5000],\n          ...]]])");
    return QStringLiteral("<%1").arg(type) + at;
}

} // namespace

FakeGraph::FakeGraph(const OrderedJson &prompt, const FakeNodeCatalog &catalog, const FakeFileStore &files,
                     QSize outputSize)
    : m_prompt(prompt), m_catalog(catalog), m_files(files), m_outputSize(outputSize)
{ }

bool FakeGraph::isSampler(const QString &classType)
{
    return classType == u"KSampler" || classType == u"KSamplerAdvanced";
}

QByteArray FakeGraph::signature(const QString &nodeId) const
{
    QSet<QString> stack;
    return signature(nodeId, stack);
}

OrderedJson FakeGraph::currentInputs(const QString &nodeId) const
{
    const QString cls = classOf(nodeId);
    const OrderedJson spec = m_catalog.objectInfo(cls).value(cls).value(u"input");
    const OrderedJson &inputs = m_prompt.value(nodeId).value(u"inputs");
    OrderedJson result = OrderedJson::object();
    for (const QString &category : {QStringLiteral("required"), QStringLiteral("optional")}) {
        for (const OrderedJson::Member &s : spec.value(category).members()) {
            const OrderedJson *value = inputs.find(s.first);
            if (!value)
                continue;
            if (value->isArray()) {
                const QString type
                    = s.second.size() > 0 && s.second.at(0).isString() ? s.second.at(0).toString() : QString();
                result.insert(s.first, OrderedJson::array({objectRepr(type)}));
            } else if (value->isObject()) {
                result.insert(s.first, OrderedJson::array({value->pyStr()}));
            } else {
                result.insert(s.first, OrderedJson::array({*value}));
            }
        }
    }
    return result;
}

QByteArray FakeGraph::signature(const QString &nodeId, QSet<QString> &stack) const
{
    if (m_signatures.contains(nodeId))
        return m_signatures.value(nodeId);
    const QString cls = classOf(nodeId);
    if (stack.contains(nodeId) || cls == u"SaveImageWebsocket" || !m_prompt.contains(nodeId)) // IS_CHANGED = time
        return m_signatures[nodeId] = QUuid::createUuid().toRfc4122();
    stack.insert(nodeId);
    QCryptographicHash hash(QCryptographicHash::Sha1);
    hash.addData(cls.toUtf8());
    const OrderedJson inputs = m_prompt.value(nodeId).value(u"inputs");
    QStringList names = inputs.keys();
    names.sort();
    for (const QString &name : std::as_const(names)) {
        const OrderedJson value = inputs.value(name);
        hash.addData(name.toUtf8());
        if (value.isArray() && value.size() == 2 && value.at(0).isString()
            && m_prompt.contains(value.at(0).toString())) {
            hash.addData(signature(value.at(0).toString(), stack));
            hash.addData(value.at(1).dump());
        } else {
            hash.addData(value.dump());
        }
    }
    if (cls == u"LoadImage") // IS_CHANGED hashes the file
        hash.addData(m_files.readAnnotated(input(nodeId, QStringLiteral("image")).toString()).value_or(QByteArray()));
    stack.remove(nodeId);
    return m_signatures[nodeId] = hash.result();
}

const OrderedJson &FakeGraph::input(const QString &nodeId, const QString &name) const
{
    return m_prompt.value(nodeId).value(u"inputs").value(name);
}

QString FakeGraph::linkedNode(const QString &nodeId, const QString &name) const
{
    const OrderedJson link = input(nodeId, name);
    return link.isArray() && link.size() == 2 ? link.at(0).toString() : QString();
}

QString FakeGraph::classOf(const QString &nodeId) const
{
    return m_prompt.value(nodeId).value(u"class_type").toString();
}

FakeGraph::Shape FakeGraph::latentShape(const QString &nodeId, int depth) const
{
    Shape shape;
    if (depth > 64 || !m_prompt.contains(nodeId))
        return shape;
    const QString cls = classOf(nodeId);
    auto size = [&](const char *w, const char *h) {
        return QSize(int(input(nodeId, QLatin1String(w)).toInt()), int(input(nodeId, QLatin1String(h)).toInt()));
    };
    if (cls == u"EmptyLatentImage") {
        shape.size = size("width", "height");
        shape.batch = int(input(nodeId, QStringLiteral("batch_size")).toInt());
    } else if (isSampler(cls)) {
        shape = latentShape(linkedNode(nodeId, QStringLiteral("latent_image")), depth + 1);
        shape.seed = quint64(
            input(nodeId, cls == u"KSampler" ? QStringLiteral("seed") : QStringLiteral("noise_seed")).toDouble());
    } else if (cls == u"LatentUpscale") {
        shape = latentShape(linkedNode(nodeId, QStringLiteral("samples")), depth + 1);
        QSize target = size("width", "height");
        if (target.width() == 0 && target.height() == 0)
            target = shape.size;
        else if (target.width() == 0)
            target.setWidth(qMax(8, shape.size.width() * target.height() / qMax(1, shape.size.height())));
        else if (target.height() == 0)
            target.setHeight(qMax(8, shape.size.height() * target.width() / qMax(1, shape.size.width())));
        shape.size = target;
    } else if (cls == u"LatentUpscaleBy") {
        shape = latentShape(linkedNode(nodeId, QStringLiteral("samples")), depth + 1);
        const double scale = input(nodeId, QStringLiteral("scale_by")).toDouble();
        shape.size = QSize(qMax(8, int(std::nearbyint(shape.size.width() / 8 * scale)) * 8),
                           qMax(8, int(std::nearbyint(shape.size.height() / 8 * scale)) * 8));
    } else if (cls == u"VAEEncode") {
        const QList<QImage> pixels = images(linkedNode(nodeId, QStringLiteral("pixels")), depth + 1);
        shape.size = pixels.isEmpty() ? QSize(512, 512) : pixels.first().size();
        shape.batch = int(qMax<qsizetype>(1, pixels.size()));
    } else {
        for (const OrderedJson::Member &in : m_prompt.value(nodeId).value(u"inputs").members()) {
            if (in.second.isArray() && in.second.size() == 2)
                return latentShape(in.second.at(0).toString(), depth + 1);
        }
    }
    shape.size = QSize(qBound(8, shape.size.width(), 8192), qBound(8, shape.size.height(), 8192));
    shape.batch = qBound(1, shape.batch, 64);
    return shape;
}

QList<QImage> FakeGraph::images(const QString &nodeId, int depth) const
{
    const QString cls = classOf(nodeId);
    if (depth > 64 || !m_prompt.contains(nodeId))
        return {fakeimages::render(QSize(512, 512), 0, 1.0)};
    if (cls == u"VAEDecode") {
        const Shape shape = latentShape(linkedNode(nodeId, QStringLiteral("samples")), depth + 1);
        const QSize size = m_outputSize.isValid() ? m_outputSize : shape.size;
        QList<QImage> result;
        for (int i = 0; i < shape.batch; ++i)
            result.append(fakeimages::render(size, shape.seed + quint64(i) * 7919, 1.0));
        return result;
    }
    if (cls == u"LoadImage") {
        const auto bytes = m_files.readAnnotated(input(nodeId, QStringLiteral("image")).toString());
        QImage image = bytes ? QImage::fromData(*bytes) : QImage();
        if (image.isNull()) {
            image = QImage(512, 512, QImage::Format_RGB32);
            image.fill(Qt::gray);
        }
        return {image.convertToFormat(QImage::Format_RGB32)};
    }
    if (cls == u"EmptyImage") {
        QImage image(qBound(1, int(input(nodeId, QStringLiteral("width")).toInt()), 8192),
                     qBound(1, int(input(nodeId, QStringLiteral("height")).toInt()), 8192), QImage::Format_RGB32);
        image.fill(QRgb(0xff000000u | quint32(input(nodeId, QStringLiteral("color")).toInt())));
        return QList<QImage>(qBound(1, int(input(nodeId, QStringLiteral("batch_size")).toInt()), 64), image);
    }
    QList<QImage> source;
    for (const OrderedJson::Member &in : m_prompt.value(nodeId).value(u"inputs").members()) {
        if (in.second.isArray() && in.second.size() == 2) {
            source = images(in.second.at(0).toString(), depth + 1);
            break;
        }
    }
    if (source.isEmpty())
        source = {fakeimages::render(QSize(512, 512), 0, 1.0)};
    for (QImage &image : source) {
        if (cls == u"ImageInvert") {
            image.invertPixels();
        } else if (cls == u"ImageScale") {
            const int w = int(input(nodeId, QStringLiteral("width")).toInt()),
                      h = int(input(nodeId, QStringLiteral("height")).toInt());
            if (w > 0 || h > 0)
                image = image.scaled(w > 0 ? w : image.width() * h / qMax(1, image.height()),
                                     h > 0 ? h : image.height() * w / qMax(1, image.width()));
        } else if (cls == u"ImageScaleBy") {
            const double s = input(nodeId, QStringLiteral("scale_by")).toDouble();
            image = image.scaled(qMax(1, int(image.width() * s)), qMax(1, int(image.height() * s)));
        }
    }
    return source;
}

} // namespace cr::sim
