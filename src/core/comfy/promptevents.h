#pragma once
// A prompt's outcome as its own events tell it: the `executed` outputs, the cached nodes and the terminal event
// (execution_success, a terminal execution_error, execution_interrupted). It is final once both the terminal
// event and `executing` null (ComfyUI's last frame for a prompt) have arrived, in either order (older ComfyUI
// sends execution_success after `executing` null), so a job never ends before ComfyUI's last frame for it
// has been relayed. When every event of the prompt came
// over one unbroken connection this is what ComfyUI's /history entry says, without the round trip; ComfyClient
// decides whether that holds and falls back to /history when it does not.

#include "core/comfy/promptoutcome.h"

#include <QJsonObject>
#include <QStringList>

#include <optional>

namespace cr {

class PromptEvents
{
public:
    // Takes one event of this prompt; returns true when it made the record final.
    bool add(const protocol::ComfyEvent &event);
    bool isFinal() const { return m_end != End::None && m_done; }
    // The outcome once final (nullopt before).
    std::optional<PromptOutcome> outcome(const QString &promptId) const;

private:
    enum class End { None, Success, Error, Interrupted };
    End m_end = End::None;
    bool m_done = false;   // `executing` with node null
    QJsonObject m_outputs; // node id -> UI output, as /history's "outputs"
    QStringList m_cached;
    std::optional<protocol::ExecutionErrorEvent> m_error;
};

} // namespace cr
