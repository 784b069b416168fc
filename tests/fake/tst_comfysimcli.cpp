// comfy-sim, the executable: --name, --models, --model-load-ms and the control API reach the running simulator
// (through its port, as a benchmark sees it); bad options exit with 2 and say why; --help documents /sim/.

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTest>

class TstComfySimCli : public QObject
{
    Q_OBJECT

private:
    QNetworkAccessManager m_nam;

    std::pair<int, QJsonDocument> http(const QUrl &base, const QByteArray &method, const QString &path,
                                       const QByteArray &body = {})
    {
        QNetworkRequest request(base.resolved(QUrl(path)));
        request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
        request.setTransferTimeout(10000);
        QNetworkReply *reply = m_nam.sendCustomRequest(request, method, body);
        QSignalSpy finished(reply, &QNetworkReply::finished);
        if (!reply->isFinished())
            finished.wait(12000);
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        const QJsonDocument doc = QJsonDocument::fromJson(reply->readAll());
        reply->deleteLater();
        return {status, doc};
    }

    // Runs comfy-sim with bad arguments: its exit code and standard error.
    static std::pair<int, QByteArray> runBad(const QStringList &args)
    {
        QProcess process;
        process.start(QStringLiteral(CR_COMFY_SIM), args);
        if (!process.waitForFinished(20000))
            return {-1, {}};
        return {process.exitCode(), process.readAllStandardError()};
    }

private slots:
    void optionsReachTheServer()
    {
        QProcess sim;
        sim.start(QStringLiteral(CR_COMFY_SIM),
                  {QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--name"), QStringLiteral("gpu3"),
                   QStringLiteral("--models"), QStringLiteral("checkpoints=a.safetensors,b.safetensors"),
                   QStringLiteral("--models"), QStringLiteral("loras=x.safetensors"), QStringLiteral("--model-load-ms"),
                   QStringLiteral("250"), QStringLiteral("--steps"), QStringLiteral("1"), QStringLiteral("--step-ms"),
                   QStringLiteral("1")});
        QVERIFY(sim.waitForStarted(10000));
        QByteArray out;
        const QRegularExpression listening(QStringLiteral("comfy-sim gpu3 listening on (http://127\\.0\\.0\\.1:\\d+)"));
        QRegularExpressionMatch match;
        while (!(match = listening.match(QString::fromUtf8(out))).hasMatch()) {
            QVERIFY2(sim.waitForReadyRead(10000), out.constData());
            out += sim.readAllStandardOutput();
        }
        const QUrl base(match.captured(1));

        const auto [statsStatus, stats] = http(base, "GET", QStringLiteral("/system_stats"));
        QCOMPARE(statsStatus, 200);
        QCOMPARE(stats.object().value(u"devices").toArray().at(0).toObject().value(u"name").toString(),
                 QStringLiteral("cuda:0 gpu3 (simulated)"));
        QCOMPARE(http(base, "GET", QStringLiteral("/models/checkpoints")).second.array(),
                 (QJsonArray{"a.safetensors", "b.safetensors"}));
        QCOMPARE(http(base, "GET", QStringLiteral("/models/loras")).second.array(), QJsonArray{"x.safetensors"});
        const QJsonObject state = http(base, "GET", QStringLiteral("/sim/state")).second.object();
        QCOMPARE(state.value(u"name").toString(), QStringLiteral("gpu3"));
        QCOMPARE(state.value(u"options").toObject().value(u"model_load_ms").toInt(), 250);
        QCOMPARE(state.value(u"options").toObject().value(u"steps").toInt(), 1);
        const auto [faultStatus, fault]
            = http(base, "POST", QStringLiteral("/sim/fault"), R"({"fault": "stall_http"})");
        QCOMPARE(faultStatus, 200);
        QVERIFY(http(base, "GET", QStringLiteral("/sim/state"))
                    .second.object()
                    .value(u"faults")
                    .toObject()
                    .value(u"http_stalled")
                    .toBool());
        QCOMPARE(http(base, "POST", QStringLiteral("/sim/fault"), R"({"fault": "nope"})").first, 400);

        sim.terminate(); // SIGTERM: a clean stop
        QVERIFY(sim.waitForFinished(10000));
        QCOMPARE(sim.exitStatus(), QProcess::NormalExit);
        QCOMPARE(sim.exitCode(), 0);
        out += sim.readAllStandardOutput();
        QVERIFY2(out.contains("comfy-sim gpu3 stopped"), out.constData());
        const QByteArray log = sim.readAllStandardError();
        QVERIFY2(log.contains("comfy-sim gpu3: comfyrunner.fake.control: fault"), log.constData()); // named lines
    }

    void badOptions_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QByteArray>("message");
        QTest::newRow("unknown folder") << QStringList{"--models", "checkpoint=a.safetensors"}
                                        << QByteArray("--models wants FOLDER=name,name,...");
        QTest::newRow("no equals sign") << QStringList{"--models", "checkpoints"} << QByteArray("got 'checkpoints'");
        QTest::newRow("negative load") << QStringList{"--model-load-ms", "-1"} << QByteArray("--model-load-ms must be");
        QTest::newRow("load not a number")
            << QStringList{"--model-load-ms", "fast"} << QByteArray("--model-load-ms must be");
    }
    void badOptions()
    {
        QFETCH(QStringList, args);
        QFETCH(QByteArray, message);
        const auto [code, err] = runBad(QStringList{"--port", "0"} + args);
        QCOMPARE(code, 2);
        QVERIFY2(err.contains(message), err.constData());
    }

    void helpDocumentsTheControlApi()
    {
        QProcess process;
        process.start(QStringLiteral(CR_COMFY_SIM), {QStringLiteral("--help")});
        QVERIFY(process.waitForFinished(20000));
        QCOMPARE(process.exitCode(), 0);
        const QByteArray help = process.readAllStandardOutput();
        for (const char *needle : {"--name", "--models", "--model-load-ms", "GET  /sim/state", "GET  /sim/prompts",
                                   "POST /sim/fault", "drop_websockets", "restart [down_ms]", "refuse_connections",
                                   "accept_connections", "stall_http", "ws_silent", "fail_next_prompt"})
            QVERIFY2(help.contains(needle), needle);
    }
};

QTEST_GUILESS_MAIN(TstComfySimCli)
#include "tst_comfysimcli.moc"
