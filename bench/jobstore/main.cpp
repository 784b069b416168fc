// bench-jobstore: milliseconds and bytes per job that the job store costs, for the write pattern of one job
// (created when ComfyUI accepted it, then its final state: the two writes JobManager makes for every run),
// in three variants measured in the same run against files in the same folder:
//   first release  the whole job, graph included, rewritten on every write (INSERT OR REPLACE), synchronous=NORMAL
//   + FULL sync    the same rows with synchronous=FULL (what durability alone costs)
//   JobStore       today's store: the graph written once, state-only updates, synchronous=FULL
//   PostgreSQL     the same JobStore on the database of --postgresql URL (COMFY_RUNNER_DB_PASSWORD), when given
// See docs/benchmarks.md. Exit codes: 0 done, 1 a write failed, 2 bad arguments.

#include "bench/common/report.h"
#include "core/jobs/jobstore.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTextStream>

using namespace cr;

namespace {

struct Figures {
    double msPerJob = 0;
    double bytesPerJob = 0; // bytes of row data bound per job (what SQLite has to write, before page overhead)
    bool ok = true;
};

QString compact(const QJsonObject &o) { return QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact)); }

Job jobNumber(int i, const QJsonObject &graph)
{
    Job job;
    job.id = QStringLiteral("bench-%1").arg(i);
    job.workflow = QStringLiteral("sd15_txt2img");
    job.graph = graph;
    job.createdAt = QDateTime::currentDateTimeUtc();
    return job;
}

void finish(Job &job)
{
    job.state = JobState::Succeeded;
    job.startedAt = job.createdAt;
    job.finishedAt = QDateTime::currentDateTimeUtc();
    job.outputs = {{QStringLiteral("9"),
                    {QStringLiteral("images"), QStringLiteral("ComfyUI_00001_.png"), {}, QStringLiteral("output")}}};
}

// The first release's JobStore::save, reproduced: one table, the whole job as JSON on every write.
Figures firstRelease(const QString &path, const QJsonObject &graph, int jobs, bool fullSync)
{
    Figures f;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("old"));
        db.setDatabaseName(path);
        db.open();
        QSqlQuery q(db);
        q.exec(QStringLiteral("PRAGMA journal_mode=WAL"));
        q.exec(fullSync ? QStringLiteral("PRAGMA synchronous=FULL") : QStringLiteral("PRAGMA synchronous=NORMAL"));
        q.exec(QStringLiteral("CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, "
                              "state TEXT NOT NULL, data TEXT NOT NULL)"));
        q.prepare(QStringLiteral("INSERT OR REPLACE INTO jobs (id, created_at, state, data) VALUES (?, ?, ?, ?)"));
        qint64 bytes = 0;
        auto save = [&](const Job &job) {
            const QString data = compact(JobStore::toJson(job));
            bytes += data.toUtf8().size();
            q.addBindValue(job.id);
            q.addBindValue(job.createdAt.toString(Qt::ISODateWithMs));
            q.addBindValue(jobStateName(job.state));
            q.addBindValue(data);
            f.ok = q.exec() && f.ok;
        };
        QElapsedTimer t;
        t.start();
        for (int i = 0; i < jobs; ++i) {
            Job job = jobNumber(i, graph);
            save(job);
            finish(job);
            save(job);
        }
        f.msPerJob = double(t.nsecsElapsed()) / 1e6 / jobs;
        f.bytesPerJob = double(bytes) / jobs;
        q.finish();
        db.close();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("old"));
    return f;
}

Figures today(const StoreUrl &url, const QJsonObject &graph, int jobs)
{
    Figures f;
    JobStore store(url, qEnvironmentVariable("COMFY_RUNNER_DB_PASSWORD"));
    if (!store.isOpen()) {
        QTextStream(stderr) << "bench-jobstore: " << store.error() << '\n';
        return {0, 0, false};
    }
    QElapsedTimer t;
    t.start();
    qint64 bytes = 0;
    for (int i = 0; i < jobs; ++i) {
        Job job = jobNumber(i, graph);
        f.ok = store.create(job) && f.ok;
        finish(job);
        f.ok = store.update(job) && f.ok;
        QJsonObject data = JobStore::toJson(job);
        data.remove(QLatin1String("graph"));
        bytes += compact(graph).toUtf8().size() + 2 * compact(data).toUtf8().size();
    }
    f.msPerJob = double(t.nsecsElapsed()) / 1e6 / jobs;
    f.bytesPerJob = double(bytes) / jobs;
    return f;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Milliseconds and bytes per job of the job store: the first release's "
                                               "write pattern against today's, in one run."));
    p.addHelpOption();
    p.addOptions({
        {QStringLiteral("jobs"), QStringLiteral("Jobs written per variant (default 500; --quick 50)."),
         QStringLiteral("n")},
        {QStringLiteral("graph-kb"),
         QStringLiteral("Pad the sd15 graph to about this size (KiB; default 0 = as is, ~2 KiB)."),
         QStringLiteral("kb"), QStringLiteral("0")},
        {QStringLiteral("dir"),
         QStringLiteral("Folder for the database files (default: a temporary folder; the disk matters)."),
         QStringLiteral("path")},
        {QStringLiteral("json"), QStringLiteral("Also write the figures as JSON to this file."),
         QStringLiteral("file")},
        {QStringLiteral("quick"), QStringLiteral("A short run that checks that every write works.")},
        {QStringLiteral("postgresql"),
         QStringLiteral(
             "Also measure JobStore on this PostgreSQL database (rows bench-N are written over; the password from "
             "COMFY_RUNNER_DB_PASSWORD)."),
         QStringLiteral("url")},
    });
    p.process(app);
    bool ok = true;
    const int jobs = p.isSet(QStringLiteral("jobs")) ? p.value(QStringLiteral("jobs")).toInt(&ok)
                                                     : (p.isSet(QStringLiteral("quick")) ? 50 : 500);
    bool kbOk = true;
    const int graphKb = p.value(QStringLiteral("graph-kb")).toInt(&kbOk);
    if (!ok || !kbOk || jobs < 1 || graphKb < 0) {
        QTextStream(stderr) << "bench-jobstore: --jobs must be >= 1 and --graph-kb >= 0\n";
        return 2;
    }
    QFile wf(QStringLiteral(CR_SOURCE_DIR "/workflows/sd15_txt2img.json"));
    if (!wf.open(QIODevice::ReadOnly)) {
        QTextStream(stderr) << "bench-jobstore: cannot read " << wf.fileName() << '\n';
        return 1;
    }
    QJsonObject graph = QJsonDocument::fromJson(wf.readAll()).object();
    if (graphKb > 0) // a big workflow: one node with a long text input
        graph.insert(QStringLiteral("999"),
                     QJsonObject{{QStringLiteral("class_type"), QStringLiteral("Note")},
                                 {QStringLiteral("inputs"),
                                  QJsonObject{{QStringLiteral("text"), QString(graphKb * 1024, QLatin1Char('x'))}}}});

    QTemporaryDir tmp(p.isSet(QStringLiteral("dir"))
                          ? p.value(QStringLiteral("dir")) + QStringLiteral("/bench-jobstore-XXXXXX")
                          : QString());
    if (!tmp.isValid()) {
        QTextStream(stderr) << "bench-jobstore: cannot create a folder for the databases\n";
        return 1;
    }
    const Figures old = firstRelease(tmp.filePath(QStringLiteral("old.sqlite")), graph, jobs, false);
    const Figures oldFull = firstRelease(tmp.filePath(QStringLiteral("old-full.sqlite")), graph, jobs, true);
    StoreUrl sqlite;
    sqlite.sqlitePath = tmp.filePath(QStringLiteral("jobs.sqlite"));
    const Figures now = today(sqlite, graph, jobs);
    std::optional<Figures> pg;
    if (p.isSet(QStringLiteral("postgresql"))) {
        QString why;
        const std::optional<StoreUrl> url = parseStoreUrl(p.value(QStringLiteral("postgresql")), QString(), &why);
        if (!url || url->engine != StoreUrl::Engine::Postgres) {
            QTextStream(stderr) << "bench-jobstore: --postgresql: " << (url ? QStringLiteral("not PostgreSQL") : why)
                                << '\n';
            return 2;
        }
        pg = today(*url, graph, jobs);
    }

    bench::Report report(QStringLiteral("bench-jobstore"));
    auto row = [](const QString &name, const Figures &f, const Figures &base) {
        return QStringList{name, QString::number(f.msPerJob, 'f', 3), QString::number(f.bytesPerJob / 1024.0, 'f', 1),
                           QString::number(f.msPerJob / std::max(1e-9, base.msPerJob), 'f', 2)};
    };
    QList<QStringList> rows{row(QStringLiteral("first release (graph every write, NORMAL)"), old, old),
                            row(QStringLiteral("first release + synchronous=FULL"), oldFull, old),
                            row(QStringLiteral("JobStore (graph once, FULL)"), now, old)};
    if (pg)
        rows << row(QStringLiteral("JobStore on PostgreSQL"), *pg, old);
    report.addTable(QStringLiteral("job store: %1 jobs, graph %2 KiB, create + final state per job")
                        .arg(jobs)
                        .arg(compact(graph).toUtf8().size() / 1024.0, 0, 'f', 1),
                    {QStringLiteral("variant"), QStringLiteral("ms/job"), QStringLiteral("KiB written/job"),
                     QStringLiteral("x first release")},
                    rows);
    report.json().insert(QStringLiteral("jobs"), jobs);
    report.json().insert(QStringLiteral("graph_bytes"), compact(graph).toUtf8().size());
    report.json().insert(
        QStringLiteral("ms_per_job"),
        QJsonObject{{QStringLiteral("first_release"), old.msPerJob},
                    {QStringLiteral("first_release_full_sync"), oldFull.msPerJob},
                    {QStringLiteral("jobstore"), now.msPerJob},
                    {QStringLiteral("jobstore_postgresql"), pg ? QJsonValue(pg->msPerJob) : QJsonValue()}});
    report.finish({});
    report.print();
    if (p.isSet(QStringLiteral("json"))) {
        QString error;
        if (!report.writeJson(p.value(QStringLiteral("json")), &error))
            QTextStream(stderr) << "bench-jobstore: " << error << '\n';
    }
    if (!old.ok || !oldFull.ok || !now.ok || (pg && !pg->ok)) {
        QTextStream(stderr) << "bench-jobstore: a write failed\n";
        return 1;
    }
    return 0;
}
