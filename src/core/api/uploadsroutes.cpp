// POST /api/v1/uploads: an image for LoadImage, passed on to ComfyUI's /upload/image.

#include "core/api/controllers.h"
#include "core/api/multipart.h"
#include "core/api/uploadnames.h"
#include "core/pool/backendpool.h"

#include "core/comfy/comfyclient.h"

namespace cr {

UploadsRoutes::UploadsRoutes(const ApiContext &ctx, QObject *parent) : QObject(parent), m_ctx(ctx) { }

void UploadsRoutes::install(RouteHandlers &h)
{
    h.insert(RouteId::Upload, [this](const ApiRequest &r, ApiReply reply) { upload(r, reply); });
}

// POST /api/v1/uploads (multipart/form-data: "image" file part; optional fields "subfolder", "type"
//   (input|temp|output, default input), "overwrite" (true|false)) -> 201 ComfyUI's {"name", "subfolder",
//   "type"} | 400 invalid_request / missing_field / invalid_field (file name or subfolder: "..", "/", "\",
//   NUL or control characters, over 255 bytes) | 422 comfy_validation (ComfyUI refused it with a 4xx)
//   | 502 comfy_unreachable / comfy_error.
void UploadsRoutes::upload(const ApiRequest &req, ApiReply reply)
{
    const Result<QList<FormPart>> parts = parseMultipart(req.header("Content-Type"), req.body);
    if (!parts)
        return reply.error(parts.error());
    const FormPart *image = nullptr;
    QString subfolder, type = QStringLiteral("input");
    bool overwrite = false;
    for (const FormPart &p : *parts) {
        if (p.name == QLatin1String("image") && !image)
            image = &p;
        else if (p.name == QLatin1String("subfolder"))
            subfolder = QString::fromUtf8(p.data);
        else if (p.name == QLatin1String("type"))
            type = QString::fromUtf8(p.data);
        else if (p.name == QLatin1String("overwrite"))
            overwrite = p.data == "true" || p.data == "1";
    }
    if (!image || image->fileName.isEmpty())
        return reply.error(Error::make(ErrorCode::MissingField,
                                       QStringLiteral("a file part named \"image\" is required"),
                                       {{QStringLiteral("field"), QStringLiteral("image")}}));
    if (type != QLatin1String("input") && type != QLatin1String("temp") && type != QLatin1String("output"))
        return reply.error(Error::make(ErrorCode::InvalidRequest,
                                       QStringLiteral("\"type\" must be input, temp or output"),
                                       {{QStringLiteral("field"), QStringLiteral("type")}}));
    // Checked here, so that a bad name is the client's 400 and never reaches ComfyUI's folders.
    if (const Status bad = checkUploadFileName(image->fileName))
        return reply.error(*bad);
    if (const Status bad = checkUploadSubfolder(subfolder))
        return reply.error(*bad);
    if (!m_ctx.pool || m_ctx.pool->isPoolOfOne()) {
        m_ctx.comfy->http()->uploadImage(image->data, image->fileName, QString::fromLatin1(image->contentType),
                                         subfolder, type, overwrite, [reply](Result<QJsonObject> r) mutable {
                                             if (!r)
                                                 return reply.error(uploadError(r.error()));
                                             reply.json(201, r.value());
                                         });
        return;
    }
    // A pool: the file goes to every connected backend, so that any of them can run the job that reads it.
    // The answer is the first backend's that took it, plus "backends": {name: "uploaded" | error}.
    struct Pending {
        QJsonObject perBackend;
        std::optional<QJsonObject> first;
        std::optional<Error> firstError;
        int left = 0;
    };
    QList<Backend *> targets;
    for (Backend *b : m_ctx.pool->backends())
        if (b->isConnected())
            targets << b;
    if (targets.isEmpty())
        return reply.error(Error::make(ErrorCode::ComfyUnreachable,
                                       QStringLiteral("no ComfyUI backend is connected to take the upload")));
    auto pending = std::make_shared<Pending>();
    pending->left = int(targets.size());
    for (Backend *b : std::as_const(targets)) {
        const QString name = b->name();
        b->client()->http()->uploadImage(image->data, image->fileName, QString::fromLatin1(image->contentType),
                                         subfolder, type, overwrite,
                                         [reply, pending, name](Result<QJsonObject> r) mutable {
                                             if (r) {
                                                 pending->perBackend.insert(name, QStringLiteral("uploaded"));
                                                 if (!pending->first)
                                                     pending->first = r.value();
                                             } else {
                                                 pending->perBackend.insert(name, r.error().toJson());
                                                 if (!pending->firstError)
                                                     pending->firstError = r.error();
                                             }
                                             if (--pending->left > 0)
                                                 return;
                                             if (!pending->first)
                                                 return reply.error(uploadError(*pending->firstError));
                                             QJsonObject answer = *pending->first;
                                             answer.insert(QStringLiteral("backends"), pending->perBackend);
                                             reply.json(201, answer);
                                         });
    }
}

} // namespace cr
