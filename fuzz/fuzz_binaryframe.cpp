// Fuzz target: ComfyUI's binary WebSocket frames (protocol/binaryframe). Any bytes must parse or be refused
// without over-reading; a parsed preview or text frame must survive a re-encode unchanged.

#include "fuzzsupport.h"

#include "protocol/binaryframe.h"
#include "protocol/websocketframe.h"

using namespace cr::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cr::fuzz::quietQt();
    const QByteArray input = cr::fuzz::bytes(data, size);
    FrameError error = FrameError::None;
    const std::optional<BinaryFrame> frame = parseBinaryFrame(input, &error);
    (void)frameErrorString(error);
    if (!frame) {
        CR_FUZZ_CHECK(error != FrameError::None);
        return 0;
    }
    CR_FUZZ_CHECK(error == FrameError::None);
    CR_FUZZ_CHECK(frame->preview.has_value() != frame->text.has_value());
    if (frame->text) {
        const auto again = parseBinaryFrame(encodeTextFrame(frame->text->nodeId, frame->text->text));
        CR_FUZZ_CHECK(again && again->text);
        CR_FUZZ_CHECK(again->text->nodeId == frame->text->nodeId && again->text->text == frame->text->text);
    }
    if (frame->preview) {
        const PreviewFrame &p = *frame->preview;
        CR_FUZZ_CHECK(p.image.size() <= input.size());
        const QByteArray type1 = encodePreviewType1(p.format, p.image);
        const auto again1 = parseBinaryFrame(type1);
        CR_FUZZ_CHECK(again1 && again1->preview && again1->preview->image == p.image);
        if (p.hadMetadata) {
            const auto again4 = parseBinaryFrame(encodePreviewType4(p.meta, p.format, p.image));
            CR_FUZZ_CHECK(again4 && again4->preview && again4->preview->image == p.image);
            const PreviewMetadata &m = again4->preview->meta;
            CR_FUZZ_CHECK(m.nodeId == p.meta.nodeId && m.promptId == p.meta.promptId
                          && m.displayNodeId == p.meta.displayNodeId && m.parentNodeId == p.meta.parentNodeId
                          && m.realNodeId == p.meta.realNodeId);
        }
        // The relay frames previews once for all clients.
        const QByteArray ws = encodeWebSocketFrame(WebSocketOpcode::Binary, type1);
        CR_FUZZ_CHECK(ws.size() == webSocketHeaderSize(type1.size()) + type1.size());
    }
    return 0;
}
