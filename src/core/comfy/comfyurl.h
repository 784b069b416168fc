#pragma once
// ComfyUI may be served under a base path ([comfy] url = "http://host/comfy", behind a reverse proxy). Every
// ComfyUI endpoint URL is built here, so that the HTTP calls, uploads, /view and the WebSocket all keep it.

#include <QString>
#include <QUrl>

namespace cr {

// base + "/view", "/ws", "/history/x?max_items=1" (a query in `pathAndQuery` is kept, strictly encoded);
// scheme, host, port and credentials come from `base`, its query and fragment are dropped.
inline QUrl comfyEndpoint(const QUrl &base, const QString &pathAndQuery)
{
    QUrl url = base;
    url.setQuery(QString());
    url.setFragment(QString());
    QString prefix = base.path();
    while (prefix.endsWith(QLatin1Char('/')))
        prefix.chop(1);
    url.setPath(prefix + pathAndQuery.section(QLatin1Char('?'), 0, 0));
    const QString query = pathAndQuery.section(QLatin1Char('?'), 1);
    if (!query.isEmpty())
        url.setQuery(query, QUrl::StrictMode);
    return url;
}

} // namespace cr
