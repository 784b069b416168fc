#include "core/config/commandline.h"

#include "core/config/bindhost.h"

#include <QCommandLineParser>
#include <QDir>

namespace cr {

namespace {

std::optional<quint16> parsePort(const QCommandLineParser &p, const QString &name, QString &error)
{
    if (!p.isSet(name))
        return std::nullopt;
    bool ok = false;
    const uint v = p.value(name).toUInt(&ok);
    if (!ok || v > 65535) {
        error = QStringLiteral("--%1: \"%2\" is not a port number (0 to 65535)").arg(name, p.value(name));
        return std::nullopt;
    }
    return quint16(v);
}

std::optional<QString> valueOf(const QCommandLineParser &p, const QString &name)
{
    return p.isSet(name) ? std::optional<QString>(p.value(name)) : std::nullopt;
}

} // namespace

CommandLine CommandLine::parse(const QStringList &arguments)
{
    CommandLine cl;
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("comfy_runner: a REST API and live event relay in front of ComfyUI.\n"
                                               "Command-line values win over the configuration file."));
    const QCommandLineOption help(QStringList{QStringLiteral("h"), QStringLiteral("help")},
                                  QStringLiteral("Show this help and exit."));
    const QCommandLineOption version(QStringList{QStringLiteral("v"), QStringLiteral("version")},
                                     QStringLiteral("Show the version and exit."));
    p.addOption(help);
    p.addOption(version);
    p.addOptions({
        {{QStringLiteral("c"), QStringLiteral("config")},
         QStringLiteral("Configuration file (TOML). Default: ./config.toml if present."),
         QStringLiteral("file")},
        {QStringLiteral("check-config"),
         QStringLiteral(
             "Validate the configuration, print the effective configuration and exit (0 = valid, 2 = invalid).")},
        {QStringLiteral("http-host"), QStringLiteral("Address the REST API binds to."), QStringLiteral("host")},
        {QStringLiteral("http-port"), QStringLiteral("REST API port (0 = any free port)."), QStringLiteral("port")},
        {QStringLiteral("relay-host"), QStringLiteral("Address the event relay binds to."), QStringLiteral("host")},
        {QStringLiteral("relay-port"), QStringLiteral("Event relay (WebSocket) port (0 = any free port)."),
         QStringLiteral("port")},
        {QStringLiteral("comfy-url"), QStringLiteral("ComfyUI base URL, e.g. http://127.0.0.1:8188."),
         QStringLiteral("url")},
        {QStringLiteral("workflow"), QStringLiteral("Active workflow (name of a file in the workflows folder)."),
         QStringLiteral("name")},
        {QStringLiteral("workflows-dir"), QStringLiteral("Folder of API-format workflow files."),
         QStringLiteral("dir")},
        {QStringLiteral("data-dir"), QStringLiteral("Folder for the service's own data."), QStringLiteral("dir")},
        {QStringLiteral("preview-method"),
         QStringLiteral("Preview method asked of ComfyUI: none, auto, latent2rgb, taesd, default."),
         QStringLiteral("method")},
    });
    p.addPositionalArgument(QStringLiteral("config"), QStringLiteral("Configuration file (same as --config)."),
                            QStringLiteral("[config]"));
    cl.helpText = p.helpText();

    if (!p.parse(arguments)) {
        cl.action = Action::Error;
        cl.error = p.errorText();
        return cl;
    }
    if (p.isSet(help)) {
        cl.action = Action::Help;
        return cl;
    }
    if (p.isSet(version)) {
        cl.action = Action::Version;
        return cl;
    }
    const QStringList positional = p.positionalArguments();
    if (positional.size() > 1 || (positional.size() == 1 && p.isSet(QStringLiteral("config")))) {
        cl.action = Action::Error;
        cl.error = QStringLiteral("give one configuration file, either with --config or as an argument");
        return cl;
    }
    cl.configFile = positional.isEmpty() ? p.value(QStringLiteral("config")) : positional.first();
    if (p.isSet(QStringLiteral("check-config")))
        cl.action = Action::CheckConfig;

    cl.httpHost = valueOf(p, QStringLiteral("http-host"));
    cl.relayHost = valueOf(p, QStringLiteral("relay-host"));
    cl.comfyUrl = valueOf(p, QStringLiteral("comfy-url"));
    cl.workflow = valueOf(p, QStringLiteral("workflow"));
    cl.workflowsDir = valueOf(p, QStringLiteral("workflows-dir"));
    cl.dataDir = valueOf(p, QStringLiteral("data-dir"));
    cl.previewMethod = valueOf(p, QStringLiteral("preview-method"));
    QString error;
    cl.httpPort = parsePort(p, QStringLiteral("http-port"), error);
    if (error.isEmpty())
        cl.relayPort = parsePort(p, QStringLiteral("relay-port"), error);
    if (!error.isEmpty()) {
        cl.action = Action::Error;
        cl.error = error;
    }
    return cl;
}

QStringList CommandLine::applyTo(Config &config) const
{
    QStringList problems;
    auto host = [&problems](const char *option, const QString &value, QString &out) {
        if (resolveBindHost(value))
            out = value;
        else
            problems << QStringLiteral(
                            "--%1: \"%2\" is not an IP address (use an IP address, localhost, 0.0.0.0, :: or *)")
                            .arg(QLatin1String(option), value);
    };
    if (httpHost)
        host("http-host", *httpHost, config.http.host);
    if (httpPort)
        config.http.port = *httpPort;
    if (relayHost)
        host("relay-host", *relayHost, config.relay.host);
    if (relayPort)
        config.relay.port = *relayPort;
    // As in the file: port 0 (any free port) is fine for both, one fixed port cannot serve both.
    if ((httpPort || relayPort) && config.http.port != 0 && config.http.port == config.relay.port)
        problems << QStringLiteral("--http-port/--relay-port: %1 would be both the REST API's and the relay's port")
                        .arg(config.http.port);
    if (comfyUrl && !config.backends.isEmpty()) {
        problems << QStringLiteral("--comfy-url cannot be combined with [[backends]] (the configuration names every "
                                   "ComfyUI)");
    } else if (comfyUrl) {
        const QUrl u(*comfyUrl, QUrl::StrictMode);
        if (u.isValid() && (u.scheme() == QLatin1String("http") || u.scheme() == QLatin1String("https"))
            && !u.host().isEmpty())
            config.comfy.url = u;
        else
            problems << QStringLiteral("--comfy-url: \"%1\" is not a valid http/https URL").arg(*comfyUrl);
    }
    if (workflow)
        config.comfy.workflow = *workflow;
    if (workflowsDir)
        config.paths.workflowsDir = QDir::current().absoluteFilePath(*workflowsDir);
    if (dataDir)
        config.paths.dataDir = QDir::current().absoluteFilePath(*dataDir);
    if (previewMethod) {
        static const QStringList allowed{QStringLiteral("none"), QStringLiteral("auto"), QStringLiteral("latent2rgb"),
                                         QStringLiteral("taesd"), QStringLiteral("default")};
        if (allowed.contains(*previewMethod))
            config.comfy.previewMethod = *previewMethod;
        else
            problems << QStringLiteral("--preview-method: \"%1\" is not one of %2")
                            .arg(*previewMethod, allowed.join(QLatin1String(", ")));
    }
    return problems;
}

} // namespace cr
