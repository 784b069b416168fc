#pragma once
// Read-only questions about one API-format prompt during a simulated run: node classes, inputs and links,
// the latent/image shapes flowing through the graph, the pictures an IMAGE output would hold, execution-cache
// signatures, and execution_error's current_inputs.

#include "sim/orderedjson.h"

#include <QHash>
#include <QImage>
#include <QSet>
#include <QSize>

namespace cr::sim {

class FakeFileStore;
class FakeNodeCatalog;

class FakeGraph
{
public:
    struct Shape {
        QSize size{512, 512}; // pixels
        int batch = 1;
        quint64 seed = 0;
    };

    // All references must outlive the graph. outputSize: an override for generated images (invalid = none).
    FakeGraph(const OrderedJson &prompt, const FakeNodeCatalog &catalog, const FakeFileStore &files, QSize outputSize);

    static bool isSampler(const QString &classType);

    QString classOf(const QString &nodeId) const;
    const OrderedJson &input(const QString &nodeId, const QString &name) const;
    QString linkedNode(const QString &nodeId, const QString &name) const; // empty when not a link
    Shape latentShape(const QString &nodeId, int depth = 0) const;
    QList<QImage> images(const QString &nodeId, int depth = 0) const;
    // Same inputs (recursively) = same signature. SaveImageWebsocket never repeats; LoadImage hashes its file.
    QByteArray signature(const QString &nodeId) const;
    OrderedJson currentInputs(const QString &nodeId) const;

private:
    QByteArray signature(const QString &nodeId, QSet<QString> &stack) const;

    const OrderedJson &m_prompt;
    const FakeNodeCatalog &m_catalog;
    const FakeFileStore &m_files;
    QSize m_outputSize;
    mutable QHash<QString, QByteArray> m_signatures;
};

} // namespace cr::sim
