#include "core/jobs/jobstore.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QUuid>

Q_LOGGING_CATEGORY(lcJobStore, "comfyrunner.jobs.store")

namespace cr {

namespace {

QJsonValue time(const QDateTime &t)
{
    return t.isValid() ? QJsonValue(t.toUTC().toString(Qt::ISODateWithMs)) : QJsonValue();
}
QDateTime timeFrom(const QJsonValue &v)
{
    return v.isString() ? QDateTime::fromString(v.toString(), Qt::ISODateWithMs) : QDateTime();
}

QJsonObject errorToJson(const protocol::ExecutionErrorEvent &e)
{
    return {{QStringLiteral("prompt_id"), e.promptId},
            {QStringLiteral("node_id"), e.nodeId},
            {QStringLiteral("node_type"), e.nodeType},
            {QStringLiteral("exception_message"), e.exceptionMessage},
            {QStringLiteral("exception_type"), e.exceptionType},
            {QStringLiteral("traceback"), QJsonArray::fromStringList(e.traceback)},
            {QStringLiteral("executed"), QJsonArray::fromStringList(e.executed)},
            {QStringLiteral("timestamp"), e.timestamp}};
}

QString compact(const QJsonObject &o) { return QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact)); }

// The data column: the job without its graph (which has a column of its own, written once).
QString dataWithoutGraph(const Job &job)
{
    QJsonObject o = JobStore::toJson(job);
    o.remove(QLatin1String("graph"));
    return compact(o);
}

QStringList strings(const QJsonValue &v)
{
    QStringList out;
    for (const QJsonValue &s : v.toArray())
        out << s.toString();
    return out;
}

} // namespace

QJsonObject JobStore::toJson(const Job &job)
{
    QJsonArray outputs;
    for (const NodeOutputFile &f : job.outputs)
        outputs.append(QJsonObject{{QStringLiteral("node_id"), f.nodeId},
                                   {QStringLiteral("kind"), f.file.kind},
                                   {QStringLiteral("filename"), f.file.filename},
                                   {QStringLiteral("subfolder"), f.file.subfolder},
                                   {QStringLiteral("type"), f.file.type},
                                   {QStringLiteral("format"), f.file.format},
                                   {QStringLiteral("animated"), f.file.animated},
                                   {QStringLiteral("text"), f.file.text}});
    QJsonObject o{{QStringLiteral("id"), job.id},
                  {QStringLiteral("client_ref"), job.clientRef},
                  {QStringLiteral("workflow"), job.workflow},
                  {QStringLiteral("graph"), job.graph},
                  {QStringLiteral("state"), jobStateName(job.state)},
                  {QStringLiteral("created_at"), time(job.createdAt)},
                  {QStringLiteral("started_at"), time(job.startedAt)},
                  {QStringLiteral("finished_at"), time(job.finishedAt)},
                  {QStringLiteral("progress"),
                   QJsonObject{{QStringLiteral("node"), job.progress.node},
                               {QStringLiteral("class_type"), job.progress.nodeClass},
                               {QStringLiteral("value"), job.progress.value},
                               {QStringLiteral("max"), job.progress.max}}},
                  {QStringLiteral("cached_nodes"), QJsonArray::fromStringList(job.cachedNodes)},
                  {QStringLiteral("outputs"), outputs},
                  {QStringLiteral("raw_outputs"), job.rawOutputs},
                  {QStringLiteral("reason"), job.reason},
                  {QStringLiteral("cancel_requested"), job.cancelRequested}};
    if (job.comfyError)
        o.insert(QStringLiteral("comfy_error"), errorToJson(*job.comfyError));
    QJsonArray attempts;
    for (const JobAttempt &a : job.attempts)
        attempts.append(QJsonObject{{QStringLiteral("backend"), a.backend},
                                    {QStringLiteral("prompt_id"), a.promptId},
                                    {QStringLiteral("submitted_at"), time(a.submittedAt)},
                                    {QStringLiteral("started_at"), time(a.startedAt)},
                                    {QStringLiteral("finished_at"), time(a.finishedAt)},
                                    {QStringLiteral("outcome"), a.outcome},
                                    {QStringLiteral("reason"), a.reason}});
    o.insert(QStringLiteral("attempts"), attempts);
    o.insert(QStringLiteral("priority"), job.priority);
    o.insert(QStringLiteral("pinned_backend"), job.pinnedBackend);
    o.insert(QStringLiteral("required_tags"), QJsonArray::fromStringList(job.requiredTags));
    return o;
}

std::optional<Job> JobStore::fromJson(const QJsonObject &o)
{
    const JobState state = jobStateFromName(o.value(QLatin1String("state")).toString());
    const QString id = o.value(QLatin1String("id")).toString();
    if (state == JobState::Unknown || id.isEmpty())
        return std::nullopt;
    Job job;
    job.id = id;
    job.clientRef = o.value(QLatin1String("client_ref")).toString();
    job.workflow = o.value(QLatin1String("workflow")).toString();
    job.graph = o.value(QLatin1String("graph")).toObject();
    job.state = state;
    job.createdAt = timeFrom(o.value(QLatin1String("created_at")));
    job.startedAt = timeFrom(o.value(QLatin1String("started_at")));
    job.finishedAt = timeFrom(o.value(QLatin1String("finished_at")));
    const QJsonObject p = o.value(QLatin1String("progress")).toObject();
    job.progress = {p.value(QLatin1String("node")).toString(), p.value(QLatin1String("class_type")).toString(),
                    p.value(QLatin1String("value")).toDouble(), p.value(QLatin1String("max")).toDouble()};
    job.cachedNodes = strings(o.value(QLatin1String("cached_nodes")));
    for (const QJsonValue &v : o.value(QLatin1String("outputs")).toArray()) {
        const QJsonObject f = v.toObject();
        job.outputs.append({f.value(QLatin1String("node_id")).toString(),
                            {f.value(QLatin1String("kind")).toString(), f.value(QLatin1String("filename")).toString(),
                             f.value(QLatin1String("subfolder")).toString(), f.value(QLatin1String("type")).toString(),
                             f.value(QLatin1String("format")).toString(), f.value(QLatin1String("animated")).toBool(),
                             f.value(QLatin1String("text")).toString()}});
    }
    job.rawOutputs = o.value(QLatin1String("raw_outputs")).toObject();
    job.reason = o.value(QLatin1String("reason")).toString();
    job.cancelRequested = o.value(QLatin1String("cancel_requested")).toBool();
    job.priority = o.value(QLatin1String("priority")).toInt();
    job.pinnedBackend = o.value(QLatin1String("pinned_backend")).toString();
    job.requiredTags = strings(o.value(QLatin1String("required_tags")));
    if (o.contains(QLatin1String("attempts"))) {
        for (const QJsonValue &v : o.value(QLatin1String("attempts")).toArray()) {
            const QJsonObject a = v.toObject();
            job.attempts.append(
                {a.value(QLatin1String("backend")).toString(), a.value(QLatin1String("prompt_id")).toString(),
                 timeFrom(a.value(QLatin1String("submitted_at"))), timeFrom(a.value(QLatin1String("started_at"))),
                 timeFrom(a.value(QLatin1String("finished_at"))), a.value(QLatin1String("outcome")).toString(),
                 a.value(QLatin1String("reason")).toString()});
        }
    } else {
        // Written before pools: every stored job had been handed to the one ComfyUI under its own id.
        JobAttempt a{QString(), id, job.createdAt, job.startedAt, job.finishedAt, QString(), QString()};
        if (isFinal(state))
            a.outcome = jobStateName(state);
        job.attempts.append(a);
    }
    if (o.contains(QLatin1String("comfy_error"))) {
        const QJsonObject e = o.value(QLatin1String("comfy_error")).toObject();
        protocol::ExecutionErrorEvent err;
        err.promptId = e.value(QLatin1String("prompt_id")).toString();
        err.nodeId = e.value(QLatin1String("node_id")).toString();
        err.nodeType = e.value(QLatin1String("node_type")).toString();
        err.exceptionMessage = e.value(QLatin1String("exception_message")).toString();
        err.exceptionType = e.value(QLatin1String("exception_type")).toString();
        err.traceback = strings(e.value(QLatin1String("traceback")));
        err.executed = strings(e.value(QLatin1String("executed")));
        err.timestamp = qint64(e.value(QLatin1String("timestamp")).toDouble());
        err.terminal = true;
        job.comfyError = err;
    }
    return job;
}

JobStore::JobStore(const QString &path)
    : m_connection(QStringLiteral("jobstore-") + QUuid::createUuid().toString(QUuid::Id128))
{
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_connection);
    db.setDatabaseName(path);
    if (!db.open()) {
        m_error = db.lastError().text();
        return;
    }
    QSqlQuery q(db);
    // WAL keeps writes cheap and the file consistent if the process dies mid-write: a committed job survives
    // kill -9 and a crash of the service. NORMAL does not fsync every commit (FULL costs ~6 ms per commit on
    // the event loop, twice per job, in front of every blocking answer; docs/benchmarks.md): a power cut or an
    // OS crash may lose the last commits. Moving the store to a worker thread would make FULL affordable.
    q.exec(QStringLiteral("PRAGMA journal_mode=WAL"));
    q.exec(QStringLiteral("PRAGMA synchronous=NORMAL"));
    // The first release's table (schema version 0); migrate() brings it up to date.
    if (!q.exec(QStringLiteral("CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, "
                               "state TEXT NOT NULL, data TEXT NOT NULL)"))) {
        m_error = q.lastError().text();
        return;
    }
    m_open = migrate();
}

int JobStore::schemaVersion() const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    return q.exec(QStringLiteral("PRAGMA user_version")) && q.next() ? q.value(0).toInt() : -1;
}

// Each step takes the file from version n-1 to n in one transaction; files of older releases keep working.
//   1: expired_jobs, the tombstones of pruned jobs (id, client_ref, pruned_at).
//   2: jobs.graph, the graph written once; data no longer holds it (existing rows are moved over).
bool JobStore::migrate()
{
    static const QList<QStringList> steps = {
        {QStringLiteral("CREATE TABLE IF NOT EXISTS expired_jobs (id TEXT PRIMARY KEY, client_ref TEXT NOT NULL, "
                        "pruned_at TEXT NOT NULL)"),
         QStringLiteral("CREATE INDEX IF NOT EXISTS expired_jobs_pruned_at ON expired_jobs (pruned_at)")},
        {QStringLiteral("ALTER TABLE jobs ADD COLUMN graph TEXT")},
    };
    static_assert(kSchemaVersion == 2, "add the migration step of the new schema version");
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    const int version = schemaVersion();
    if (version < 0 || version > kSchemaVersion) {
        m_error = version < 0 ? QStringLiteral("cannot read the schema version: %1").arg(db.lastError().text())
                              : QStringLiteral("the job store has schema version %1, newer than this build (%2)")
                                    .arg(version)
                                    .arg(kSchemaVersion);
        return false;
    }
    for (int v = version; v < kSchemaVersion; ++v) {
        db.transaction();
        QSqlQuery q(db);
        for (const QString &sql : steps.at(v)) {
            if (!q.exec(sql)) {
                m_error
                    = QStringLiteral("migration to schema version %1 failed: %2").arg(v + 1).arg(q.lastError().text());
                db.rollback();
                return false;
            }
        }
        if (v + 1 == 2 && !moveGraphsToTheirColumn()) {
            m_error = QStringLiteral("migration to schema version 2 failed: %1").arg(db.lastError().text());
            db.rollback();
            return false;
        }
        q.exec(QStringLiteral("PRAGMA user_version = %1").arg(v + 1));
        if (!db.commit()) {
            m_error = QStringLiteral("migration to schema version %1 failed: %2").arg(v + 1).arg(db.lastError().text());
            return false;
        }
        qCInfo(lcJobStore) << "job store migrated to schema version" << v + 1;
    }
    return true;
}

JobStore::~JobStore()
{
    m_insert.reset();
    m_update.reset();
    {
        QSqlDatabase db = QSqlDatabase::database(m_connection, false);
        if (db.isOpen())
            db.close();
    }
    QSqlDatabase::removeDatabase(m_connection);
}

// Rows of the first release hold the graph inside data: move it to the graph column (inside the migration's
// transaction).
bool JobStore::moveGraphsToTheirColumn()
{
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    QSqlQuery read(db), write(db);
    if (!read.exec(QStringLiteral("SELECT id, data FROM jobs WHERE graph IS NULL")))
        return false;
    write.prepare(QStringLiteral("UPDATE jobs SET graph = ?, data = ? WHERE id = ?"));
    int moved = 0;
    while (read.next()) {
        QJsonObject o = QJsonDocument::fromJson(read.value(1).toString().toUtf8()).object();
        const QJsonObject graph = o.take(QLatin1String("graph")).toObject();
        write.addBindValue(compact(graph));
        write.addBindValue(compact(o));
        write.addBindValue(read.value(0).toString());
        if (!write.exec())
            return false;
        ++moved;
    }
    qCInfo(lcJobStore) << "moved the graphs of" << moved << "stored job(s) to their own column";
    return true;
}

QSqlQuery &JobStore::prepared(std::unique_ptr<QSqlQuery> &query, const QString &sql)
{
    if (!query) {
        query = std::make_unique<QSqlQuery>(QSqlDatabase::database(m_connection));
        query->prepare(sql);
    }
    return *query;
}

bool JobStore::create(const Job &job)
{
    if (!m_open)
        return false;
    QSqlQuery &q = prepared(m_insert,
                            QStringLiteral("INSERT OR REPLACE INTO jobs (id, created_at, state, data, graph) "
                                           "VALUES (?, ?, ?, ?, ?)"));
    q.addBindValue(job.id);
    q.addBindValue(job.createdAt.toUTC().toString(Qt::ISODateWithMs));
    q.addBindValue(jobStateName(job.state));
    q.addBindValue(dataWithoutGraph(job));
    q.addBindValue(compact(job.graph));
    if (!q.exec()) {
        qCWarning(lcJobStore).noquote() << "cannot save job" << job.id << ":" << q.lastError().text();
        return false;
    }
    return true;
}

bool JobStore::update(const Job &job)
{
    if (!m_open)
        return false;
    QSqlQuery &q = prepared(m_update, QStringLiteral("UPDATE jobs SET state = ?, data = ? WHERE id = ?"));
    q.addBindValue(jobStateName(job.state));
    q.addBindValue(dataWithoutGraph(job));
    q.addBindValue(job.id);
    if (!q.exec()) {
        qCWarning(lcJobStore).noquote() << "cannot update job" << job.id << ":" << q.lastError().text();
        return false;
    }
    return q.numRowsAffected() > 0 || create(job);
}

bool JobStore::remove(const QString &jobId)
{
    if (!m_open)
        return false;
    QSqlQuery q(QSqlDatabase::database(m_connection));
    q.prepare(QStringLiteral("DELETE FROM jobs WHERE id = ?"));
    q.addBindValue(jobId);
    return q.exec();
}

bool JobStore::prune(const QStringList &jobIds, const QList<ExpiredJob> &expired, int keepExpired)
{
    if (!m_open)
        return false;
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    db.transaction();
    QSqlQuery del(db), add(db), trim(db);
    del.prepare(QStringLiteral("DELETE FROM jobs WHERE id = ?"));
    add.prepare(QStringLiteral("INSERT OR REPLACE INTO expired_jobs (id, client_ref, pruned_at) VALUES (?, ?, ?)"));
    bool ok = true;
    for (const QString &id : jobIds) {
        del.addBindValue(id);
        ok = ok && del.exec();
    }
    for (const ExpiredJob &e : expired) {
        add.addBindValue(e.id);
        add.addBindValue(e.clientRef);
        add.addBindValue(e.prunedAt.toUTC().toString(Qt::ISODateWithMs));
        ok = ok && add.exec();
    }
    trim.prepare(QStringLiteral("DELETE FROM expired_jobs WHERE id NOT IN "
                                "(SELECT id FROM expired_jobs ORDER BY pruned_at DESC, rowid DESC LIMIT ?)"));
    trim.addBindValue(keepExpired);
    ok = ok && trim.exec();
    if (!ok || !db.commit()) {
        qCWarning(lcJobStore).noquote() << "cannot prune" << jobIds.size() << "job(s):" << db.lastError().text();
        db.rollback();
        return false;
    }
    return true;
}

QList<ExpiredJob> JobStore::loadExpired() const
{
    QList<ExpiredJob> out;
    if (!m_open)
        return out;
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!q.exec(QStringLiteral("SELECT id, client_ref, pruned_at FROM expired_jobs ORDER BY pruned_at, rowid")))
        return out;
    while (q.next())
        out.append({q.value(0).toString(), q.value(1).toString(),
                    QDateTime::fromString(q.value(2).toString(), Qt::ISODateWithMs)});
    return out;
}

QList<Job> JobStore::loadAll() const
{
    QList<Job> jobs;
    if (!m_open)
        return jobs;
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!q.exec(QStringLiteral("SELECT data, graph FROM jobs ORDER BY created_at, rowid")))
        return jobs;
    while (q.next()) {
        QJsonObject o = QJsonDocument::fromJson(q.value(0).toString().toUtf8()).object();
        if (!q.value(1).isNull())
            o.insert(QLatin1String("graph"), QJsonDocument::fromJson(q.value(1).toString().toUtf8()).object());
        if (std::optional<Job> j = fromJson(o))
            jobs.append(*j);
        else
            qCWarning(lcJobStore) << "skipped an unreadable job row";
    }
    return jobs;
}

} // namespace cr
