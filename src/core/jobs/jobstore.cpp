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
                                    {QStringLiteral("backend_url"), a.backendUrl},
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
    if (job.webhook)
        o.insert(QStringLiteral("webhook"),
                 QJsonObject{{QStringLiteral("url"), job.webhook->url},
                             {QStringLiteral("events"), QJsonArray::fromStringList(job.webhook->events)}});
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
    if (const QJsonValue w = o.value(QLatin1String("webhook")); w.isObject())
        job.webhook = JobWebhook{w.toObject().value(QLatin1String("url")).toString(),
                                 strings(w.toObject().value(QLatin1String("events")))};
    if (o.contains(QLatin1String("attempts"))) {
        for (const QJsonValue &v : o.value(QLatin1String("attempts")).toArray()) {
            const QJsonObject a = v.toObject();
            job.attempts.append(
                {a.value(QLatin1String("backend")).toString(), a.value(QLatin1String("prompt_id")).toString(),
                 timeFrom(a.value(QLatin1String("submitted_at"))), timeFrom(a.value(QLatin1String("started_at"))),
                 timeFrom(a.value(QLatin1String("finished_at"))), a.value(QLatin1String("outcome")).toString(),
                 a.value(QLatin1String("reason")).toString(), a.value(QLatin1String("backend_url")).toString()});
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

namespace {
StoreUrl sqliteFile(const QString &path)
{
    StoreUrl url;
    url.sqlitePath = path;
    return url;
}
} // namespace

JobStore::JobStore(const QString &path) : JobStore(sqliteFile(path), QString()) { }

JobStore::JobStore(const StoreUrl &url, const QString &password)
    : m_url(url), m_connection(QStringLiteral("jobstore-") + QUuid::createUuid().toString(QUuid::Id128))
{
    const bool opened = url.engine == StoreUrl::Engine::Sqlite ? openSqlite() : openPostgres(password);
    m_open = opened && migrate();
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

namespace {
// The durable webhook queue (core/webhooks/deliverystore.h): the same portable SQL on both engines.
QStringList webhookDeliveriesStep()
{
    return {QStringLiteral("CREATE TABLE IF NOT EXISTS webhook_deliveries (id TEXT PRIMARY KEY, seq BIGINT NOT NULL, "
                           "job_id TEXT NOT NULL, event TEXT NOT NULL, url TEXT NOT NULL, body TEXT NOT NULL, "
                           "state TEXT NOT NULL, attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL, "
                           "next_at BIGINT NOT NULL, created_at TEXT NOT NULL, last_attempt_at TEXT, "
                           "last_status INTEGER, last_error TEXT, finished_at TEXT)"),
            QStringLiteral("CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (state, next_at)"),
            QStringLiteral("CREATE INDEX IF NOT EXISTS webhook_deliveries_job ON webhook_deliveries (job_id)"),
            QStringLiteral("CREATE INDEX IF NOT EXISTS webhook_deliveries_seq ON webhook_deliveries (seq)")};
}

// PostgreSQL step 3: what several runners sharing the database need (jobcluster.cpp, docs/cluster.md).
QStringList clusterStep()
{
    return {
        QStringLiteral(
            "ALTER TABLE jobs ADD COLUMN owner TEXT, ADD COLUMN lease_until TIMESTAMPTZ, "
            "ADD COLUMN priority INTEGER NOT NULL DEFAULT 0, ADD COLUMN client_ref TEXT NOT NULL DEFAULT '', "
            "ADD COLUMN backend_url TEXT, ADD COLUMN published BOOLEAN NOT NULL DEFAULT true"),
        QStringLiteral("UPDATE jobs SET client_ref = COALESCE(data::jsonb->>'client_ref', ''), "
                       "priority = COALESCE((data::jsonb->>'priority')::integer, 0)"),
        QStringLiteral("CREATE UNIQUE INDEX jobs_client_ref ON jobs (client_ref) WHERE client_ref <> ''"),
        QStringLiteral(
            "CREATE INDEX jobs_waiting ON jobs (priority DESC, seq) WHERE owner IS NULL AND state = 'queued'"),
        QStringLiteral("CREATE INDEX jobs_owner ON jobs (owner, lease_until) WHERE state IN ('queued', 'running')"),
        QStringLiteral("CREATE TABLE job_cancels (job_id TEXT PRIMARY KEY, by_node TEXT NOT NULL, "
                       "requested_at TIMESTAMPTZ NOT NULL DEFAULT now())"),
        QStringLiteral("CREATE TABLE runners (node TEXT PRIMARY KEY, live_url TEXT NOT NULL, "
                       "seen_at TIMESTAMPTZ NOT NULL DEFAULT now())"),
        QStringLiteral("CREATE FUNCTION comfy_runner_notify_job() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                       "IF TG_OP = 'DELETE' THEN PERFORM pg_notify('cr_jobs', OLD.id); RETURN OLD; END IF; "
                       "IF NEW.published THEN PERFORM pg_notify('cr_jobs', NEW.id); END IF; RETURN NEW; END $$"),
        QStringLiteral("CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs FOR EACH ROW "
                       "EXECUTE FUNCTION comfy_runner_notify_job()"),
        QStringLiteral("CREATE TRIGGER jobs_notify_update AFTER UPDATE ON jobs FOR EACH ROW WHEN "
                       "(OLD.data IS DISTINCT FROM NEW.data OR OLD.owner IS DISTINCT FROM NEW.owner "
                       "OR OLD.published IS DISTINCT FROM NEW.published) EXECUTE FUNCTION comfy_runner_notify_job()"),
        QStringLiteral("CREATE TRIGGER jobs_notify_delete AFTER DELETE ON jobs FOR EACH ROW "
                       "EXECUTE FUNCTION comfy_runner_notify_job()"),
        QStringLiteral("CREATE FUNCTION comfy_runner_notify_cancel() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                       "PERFORM pg_notify('cr_cancels', NEW.job_id); RETURN NEW; END $$"),
        QStringLiteral("CREATE TRIGGER job_cancels_notify AFTER INSERT ON job_cancels FOR EACH ROW "
                       "EXECUTE FUNCTION comfy_runner_notify_cancel()"),
    };
}

} // namespace

bool JobStore::migrate()
{
    const bool ok = m_url.engine == StoreUrl::Engine::Sqlite ? migrateSqlite() : migratePostgres();
    if (!ok)
        qCWarning(lcJobStore).noquote() << "job store" << m_url.display() << ":" << m_error;
    return ok;
}

// SQLite: each step takes the file from version n-1 to n (PRAGMA user_version) in one transaction; files of
// older releases keep working. Add a step: append its statements here and bump kSchemaVersion.
//   1: expired_jobs, the tombstones of pruned jobs (id, client_ref, pruned_at).
//   2: jobs.graph, the graph written once; data no longer holds it (existing rows are moved over).
//   3: webhook_deliveries (webhookDeliveriesStep).
bool JobStore::migrateSqlite()
{
    static const QList<QStringList> steps = {
        {QStringLiteral("CREATE TABLE IF NOT EXISTS expired_jobs (id TEXT PRIMARY KEY, client_ref TEXT NOT NULL, "
                        "pruned_at TEXT NOT NULL)"),
         QStringLiteral("CREATE INDEX IF NOT EXISTS expired_jobs_pruned_at ON expired_jobs (pruned_at)")},
        {QStringLiteral("ALTER TABLE jobs ADD COLUMN graph TEXT")},
        webhookDeliveriesStep(),
    };
    static_assert(kSchemaVersion == 3, "add the migration step of the new schema version");
    return runSteps(steps, schemaVersion(), kSchemaVersion);
}

// PostgreSQL: schema_migrations holds one row per applied version; every pending step runs in one
// transaction under an advisory lock, so that runners starting together migrate once. Add a step: append
// its statements here and bump kPostgresSchemaVersion.
//   1: jobs (graph in its own column; seq keeps the insertion order) and expired_jobs, as SQLite's version 2.
//   2: webhook_deliveries, the durable webhook queue (core/webhooks/deliverystore.h), as SQLite's version 3.
//   3: the cluster (jobcluster.cpp): each row's owner, lease, priority, client_ref (unique), the current
//      attempt's backend URL and whether it is published; the queue and owner indexes; job_cancels (cancels
//      for another runner's jobs); runners (each runner's live URL); and triggers that NOTIFY cr_jobs with a
//      job's id when its row changes (not its lease) and cr_cancels with the id of a cancel request.
bool JobStore::migratePostgres()
{
    static const QList<QStringList> steps = {
        {QStringLiteral("CREATE TABLE jobs (seq BIGSERIAL NOT NULL, id TEXT PRIMARY KEY, created_at TEXT NOT NULL, "
                        "state TEXT NOT NULL, data TEXT NOT NULL, graph TEXT)"),
         QStringLiteral("CREATE INDEX jobs_created_at ON jobs (created_at, seq)"),
         QStringLiteral("CREATE TABLE expired_jobs (seq BIGSERIAL NOT NULL, id TEXT PRIMARY KEY, "
                        "client_ref TEXT NOT NULL, pruned_at TEXT NOT NULL)"),
         QStringLiteral("CREATE INDEX expired_jobs_pruned_at ON expired_jobs (pruned_at, seq)")},
        webhookDeliveriesStep(),
        clusterStep(),
    };
    static_assert(kPostgresSchemaVersion == 3, "add the migration step of the new schema version");
    QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    if (!db.transaction()) {
        m_error = QStringLiteral("cannot start the migration: %1").arg(db.lastError().text());
        return false;
    }
    QSqlQuery q(db);
    if (!q.exec(QStringLiteral("SELECT pg_advisory_xact_lock(7201402)"))
        || !q.exec(QStringLiteral("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                                  "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"))) {
        m_error = QStringLiteral("cannot prepare the migration: %1").arg(q.lastError().text());
        db.rollback();
        return false;
    }
    return runSteps(steps, schemaVersion(), kPostgresSchemaVersion);
}

// Steps `from` .. `to`-1 of `steps`. SQLite: one transaction per step. PostgreSQL: inside the transaction
// migratePostgres() opened, committed at the end.
bool JobStore::runSteps(const QList<QStringList> &steps, int from, int to)
{
    QSqlDatabase db = QSqlDatabase::database(m_connection, false);
    const bool sqlite = m_url.engine == StoreUrl::Engine::Sqlite;
    const auto fail = [&](const QString &why) {
        m_error = why;
        db.rollback();
        return false;
    };
    if (from < 0 || from > to)
        return fail(
            from < 0
                ? QStringLiteral("cannot read the schema version: %1").arg(db.lastError().text())
                : QStringLiteral("the job store has schema version %1, newer than this build (%2)").arg(from).arg(to));
    for (int v = from; v < to; ++v) {
        if (sqlite)
            db.transaction();
        QSqlQuery q(db);
        for (const QString &sql : steps.at(v)) {
            if (!q.exec(sql))
                return fail(
                    QStringLiteral("migration to schema version %1 failed: %2").arg(v + 1).arg(q.lastError().text()));
        }
        if (sqlite && v + 1 == 2 && !moveGraphsToTheirColumn())
            return fail(QStringLiteral("migration to schema version 2 failed: %1").arg(db.lastError().text()));
        const bool recorded = sqlite
            ? q.exec(QStringLiteral("PRAGMA user_version = %1").arg(v + 1))
            : q.exec(QStringLiteral("INSERT INTO schema_migrations (version) VALUES (%1)").arg(v + 1));
        if (!recorded || (sqlite && !db.commit()))
            return fail(QStringLiteral("migration to schema version %1 failed: %2")
                            .arg(v + 1)
                            .arg(recorded ? db.lastError().text() : q.lastError().text()));
        qCInfo(lcJobStore).noquote() << "job store" << m_url.display() << "migrated to schema version" << v + 1;
    }
    if (!sqlite && !db.commit())
        return fail(QStringLiteral("the migration could not be committed: %1").arg(db.lastError().text()));
    return true;
}

// Rows of the first release hold the graph inside data: move it to the graph column (inside the migration's
// transaction).
bool JobStore::moveGraphsToTheirColumn()
{
    QSqlDatabase db = QSqlDatabase::database(m_connection, false);
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

} // namespace cr
