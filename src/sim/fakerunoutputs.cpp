// What a FakeRun's output nodes leave behind: SaveImageWebsocket's binary preview frames, the PNGs of
// SaveImage/PreviewImage, the "executed" frames and the history's outputs and meta.
#include "protocol/binaryframe.h"
#include "sim/fakefilestore.h"
#include "sim/fakegraph.h"
#include "sim/fakeimages.h"
#include "sim/fakerun.h"

namespace cr::sim {

namespace proto = cr::protocol;

void FakeRun::saveWebsocketImages()
{
    const QList<QImage> frames = m_graph.images(m_graph.linkedNode(m_current, QStringLiteral("images")));
    const int count = int(frames.size());
    const bool withMetadata = !m_clientId.isEmpty() && m_host.supportsPreviewMetadata(m_clientId);
    OrderedJson *entry = m_progress.find(m_current);
    for (int i = 0; i < count; ++i) {
        entry->insert(QStringLiteral("value"), i);
        entry->insert(QStringLiteral("max"), count);
        sendProgressState();
        const QByteArray png = fakeimages::png(frames.at(i));
        if (withMetadata) {
            const proto::PreviewMetadata meta{m_current, m_item.promptId, m_current, QString(), m_current};
            m_host.sendBinary(proto::encodePreviewType4(meta, proto::ImageFormat::Png, png), m_clientId);
        }
        m_host.sendEvent(QStringLiteral("progress"),
                         OrderedJson::object({{QStringLiteral("value"), i},
                                              {QStringLiteral("max"), count},
                                              {QStringLiteral("prompt_id"), m_item.promptId},
                                              {QStringLiteral("node"), m_current}}),
                         m_clientId);
        if (!withMetadata)
            m_host.sendBinary(proto::encodePreviewType1(proto::ImageFormat::Png, png), m_clientId);
    }
    finishNode();
}

OrderedJson FakeRun::saveImages(const QString &type, const QString &prefix)
{
    const QList<QImage> frames = m_graph.images(m_graph.linkedNode(m_current, QStringLiteral("images")));
    FakeFileStore &files = m_host.files();
    FakeFileStore::SaveTarget target = files.saveTarget(type, prefix);
    OrderedJson list = OrderedJson::array();
    for (const QImage &image : frames) {
        const QString name
            = QStringLiteral("%1_%2_.png").arg(target.prefix).arg(target.counter++, 5, 10, QLatin1Char('0'));
        files.write(type, target.subfolder, name, fakeimages::png(image));
        list.append(OrderedJson::object({{QStringLiteral("filename"), name},
                                         {QStringLiteral("subfolder"), target.subfolder},
                                         {QStringLiteral("type"), type}}));
    }
    return list;
}

// The "executed" frame of node `id` with its UI output, to the run's client.
void FakeRun::sendExecuted(const QString &id, const OrderedJson &ui)
{
    m_host.sendEvent(QStringLiteral("executed"),
                     OrderedJson::object({{QStringLiteral("node"), id},
                                          {QStringLiteral("display_node"), id},
                                          {QStringLiteral("output"), ui},
                                          {QStringLiteral("prompt_id"), m_item.promptId}}),
                     m_clientId);
}

// Node `id`'s UI output and its meta entry, for the history item.
void FakeRun::recordOutput(const QString &id, const OrderedJson &ui)
{
    m_result.outputs.insert(id, ui);
    m_result.meta.insert(id,
                         OrderedJson::object({{QStringLiteral("node_id"), id},
                                              {QStringLiteral("display_node"), id},
                                              {QStringLiteral("parent_node"), OrderedJson()},
                                              {QStringLiteral("real_node_id"), id}}));
}

} // namespace cr::sim
