// Fuzz target: ComfyUI's JSON text frames (protocol/comfyevents). Any bytes parse into a typed event or are
// refused with a reason; a parsed event keeps the exact frame bytes and its type name.

#include "fuzzsupport.h"

#include "protocol/comfyevents.h"

using namespace cr::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cr::fuzz::quietQt();
    const QByteArray input = cr::fuzz::bytes(data, size);
    QString error;
    const std::optional<ComfyEvent> event = parseTextFrame(input, &error);
    if (!event) {
        CR_FUZZ_CHECK(!error.isEmpty());
        return 0;
    }
    CR_FUZZ_CHECK(event->raw == input);
    CR_FUZZ_CHECK(eventTypeFromName(event->typeName) == event->type);
    if (event->type != EventType::Unknown)
        CR_FUZZ_CHECK(eventTypeName(event->type) == event->typeName);
    if (const auto *executed = event->as<ExecutedEvent>())
        CR_FUZZ_CHECK(outputFilesFrom(executed->output) == executed->files);
    if (const auto *executing = event->as<ExecutingEvent>())
        (void)executing->isReconnectHint();
    // The same dict walk the job outputs use, on whatever object the frame carries.
    (void)outputFilesFrom(event->data);
    return 0;
}
