#pragma once
// What POST /api/v1/uploads checks before ComfyUI sees a name, and how ComfyUI's refusals are answered.

#include "protocol/error.h"

#include <QString>

namespace cr {

// A file name: not empty nor ".", at most 255 bytes of UTF-8, no "/", "\", NUL or other control character, no "..".
// nullopt when fine, else 400 invalid_field with details {"field", "reason"}.
Status checkUploadFileName(const QString &name, const QString &field = QStringLiteral("image"));
// A subfolder: empty, or relative names joined by "/" that each pass checkUploadFileName ("a/b" is fine,
// "/a", "a//b", "a/../b" and "a\b" are not).
Status checkUploadSubfolder(const QString &subfolder);
// ComfyUI's answer to an upload as the client's error: a 4xx from ComfyUI (it refused the file) is the
// client's problem, 422 comfy_validation with ComfyUI's status and body; anything else is passed on as is.
Error uploadError(const Error &comfyError);

} // namespace cr
