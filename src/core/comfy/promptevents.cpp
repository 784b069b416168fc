#include "core/comfy/promptevents.h"

namespace cr {

bool PromptEvents::add(const protocol::ComfyEvent &event)
{
    if (isFinal())
        return false;
    switch (event.type) {
    case protocol::EventType::ExecutionCached:
        if (const auto *c = event.as<protocol::ExecutionCachedEvent>())
            m_cached = c->nodes;
        break;
    case protocol::EventType::Executed:
        // ComfyUI's history keeps a node's UI output; a cache hit without UI ("output": null) adds nothing.
        if (const auto *e = event.as<protocol::ExecutedEvent>(); e && !e->output.isEmpty() && m_end == End::None)
            m_outputs.insert(e->node, e->output);
        break;
    case protocol::EventType::Executing:
        if (const auto *e = event.as<protocol::ExecutingEvent>(); e && e->finished)
            m_done = true;
        break;
    case protocol::EventType::ExecutionSuccess:
        if (m_end == End::None)
            m_end = End::Success;
        break;
    case protocol::EventType::ExecutionError:
        // ExecutionBlocked (no timestamp) is informational: the run goes on.
        if (const auto *e = event.as<protocol::ExecutionErrorEvent>(); e && e->terminal && m_end == End::None) {
            m_error = *e;
            m_end = End::Error;
        }
        break;
    case protocol::EventType::ExecutionInterrupted:
        if (m_end == End::None)
            m_end = End::Interrupted;
        break;
    default:
        break;
    }
    return isFinal();
}

std::optional<PromptOutcome> PromptEvents::outcome(const QString &promptId) const
{
    if (!isFinal())
        return std::nullopt;
    PromptOutcome o;
    o.promptId = promptId;
    o.source = PromptOutcome::Source::Events;
    o.setOutputs(m_outputs);
    o.cachedNodes = m_cached;
    switch (m_end) {
    case End::Success:
        o.status = PromptOutcome::Status::Succeeded;
        break;
    case End::Interrupted:
        o.status = PromptOutcome::Status::Interrupted;
        o.reason = QStringLiteral("interrupted");
        break;
    case End::Error:
    case End::None:
        o.status = PromptOutcome::Status::Failed;
        o.error = m_error;
        o.reason = PromptOutcome::failureReason(m_error);
        break;
    }
    return o;
}

} // namespace cr
