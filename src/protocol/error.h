#pragma once
// The one error value of request paths: a stable machine code, a sentence for humans and optional details.
// Modules return it (std::expected-style, via Result<T>); the API maps codes to HTTP status in one place
// (core/api/apierrors.cpp) and renders {"error": {"code", "message", "details"}}. It lives in protocol/
// because the codes are wire vocabulary: the monitor's REST client reads the same {"error"} bodies. The
// namespace stays cr (cr::Error, cr::Result, cr::ErrorCode).

#include <QJsonObject>
#include <QString>

#include <optional>
#include <utility>
#include <variant>

namespace cr {

// Stable codes. Clients match on these strings; never change one once released.
namespace ErrorCode {
inline constexpr char InvalidJson[] = "invalid_json";
inline constexpr char InvalidRequest[] = "invalid_request";
inline constexpr char MissingField[] = "missing_field";
inline constexpr char InvalidField[] = "invalid_field"; // a field has a value the service refuses (details.field)
inline constexpr char PayloadTooLarge[] = "payload_too_large";
inline constexpr char RequestTimeout[] = "request_timeout";    // the request head or body did not arrive in time
inline constexpr char LengthRequired[] = "length_required";    // a chunked request body (Content-Length is required)
inline constexpr char HeadersTooLarge[] = "headers_too_large"; // a request head above the limit
inline constexpr char Unauthorized[] = "unauthorized";
inline constexpr char NotFound[] = "not_found";
inline constexpr char MethodNotAllowed[] = "method_not_allowed";
inline constexpr char UnknownWorkflow[] = "unknown_workflow";
inline constexpr char InvalidWorkflow[] = "invalid_workflow";
inline constexpr char NoWorkflow[] = "no_workflow"; // the legacy routes: no active workflow is loaded
inline constexpr char UnknownNode[] = "unknown_node";
inline constexpr char UnknownInput[] = "unknown_input";
inline constexpr char UnknownParameter[] = "unknown_parameter";
inline constexpr char TypeMismatch[] = "type_mismatch";
inline constexpr char LinkedInput[] = "linked_input";
inline constexpr char JobNotFound[] = "job_not_found";
inline constexpr char JobExpired[] = "job_expired"; // a job that existed but was pruned (retention)
inline constexpr char JobConflict[] = "job_conflict";
inline constexpr char OutputNotFound[] = "output_not_found";
inline constexpr char RangeNotSatisfiable[] = "range_not_satisfiable"; // a Range past the end of an output
inline constexpr char WaitTimeout[] = "wait_timeout";
inline constexpr char ComfyValidation[] = "comfy_validation";
inline constexpr char ComfyUnreachable[] = "comfy_unreachable";
inline constexpr char ComfyTimeout[] = "comfy_timeout";
inline constexpr char ComfyError[] = "comfy_error";
inline constexpr char NoOutput[] = "no_output"; // a run succeeded but produced no file
inline constexpr char UpstreamUnreachable[] = "upstream_unreachable";
inline constexpr char UpstreamError[] = "upstream_error"; // an upstream (Node-RED) answered badly (details.reason)
inline constexpr char NotReady[] = "not_ready";
inline constexpr char StoreUnavailable[] = "store_unavailable"; // the job store cannot take the write now
inline constexpr char NoBackendCanRun[] = "no_backend_can_run"; // no backend of the pool has what the job needs
inline constexpr char BackendNotFound[] = "backend_not_found";
inline constexpr char TooManyConnections[] = "too_many_connections";
inline constexpr char TooManyStreams[] = "too_many_streams"; // the event-stream limit is reached
inline constexpr char WebhookUrlForbidden[]
    = "webhook_url_forbidden"; // the host is (or resolves to) link-local/metadata
inline constexpr char WebhooksNotConfigured[] = "webhooks_not_configured"; // no [webhooks] secret (or no job store)
inline constexpr char DeliveryNotFound[] = "delivery_not_found";           // no webhook delivery with that id
inline constexpr char HttpVersionNotSupported[] = "http_version_not_supported";
inline constexpr char Internal[] = "internal";
} // namespace ErrorCode

struct Error {
    QString code;
    QString message;
    QJsonObject details;

    static Error make(const char *code, QString message, QJsonObject details = {})
    {
        return Error{QString::fromLatin1(code), std::move(message), std::move(details)};
    }
    bool is(const char *c) const { return code == QLatin1String(c); }
    QJsonObject toJson() const; // {"code", "message", "details"?}
};

// A value or an Error.
template <typename T>
class Result
{
public:
    Result(T value) : m_v(std::move(value)) { }
    Result(Error error) : m_v(std::move(error)) { }

    bool ok() const { return m_v.index() == 0; }
    explicit operator bool() const { return ok(); }
    const T &value() const & { return std::get<0>(m_v); }
    T &value() & { return std::get<0>(m_v); }
    T &&value() && { return std::get<0>(std::move(m_v)); }
    const T *operator->() const { return &std::get<0>(m_v); }
    const T &operator*() const { return std::get<0>(m_v); }
    const Error &error() const { return std::get<1>(m_v); }

private:
    std::variant<T, Error> m_v;
};

// No value, or an Error.
using Status = std::optional<Error>;

} // namespace cr
