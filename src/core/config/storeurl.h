#pragma once
// Where the job store lives ([store] url): an SQLite file ("sqlite:PATH", a relative PATH in the data folder)
// or a PostgreSQL database ("postgresql://user@host:port/db?sslmode=require&..."). The password is never part
// of the URL (the URL is logged and shown): it comes from COMFY_RUNNER_DB_PASSWORD or libpq's own service
// file or passfile.

#include <QString>

#include <optional>

namespace cr {

struct StoreUrl {
    enum class Engine { Sqlite, Postgres };
    Engine engine = Engine::Sqlite;
    QString sqlitePath; // absolute (SQLite)
    // PostgreSQL: empty host = libpq's default (its Unix socket); options are libpq keywords ("k=v;k=v").
    QString host;
    int port = 5432;
    QString user;
    QString database;
    QString connectOptions;

    // The URL without secrets, for logs and messages.
    QString display() const;
};

// The file of the built-in default, in the data folder.
inline constexpr char kDefaultStoreUrl[] = "sqlite:jobs.sqlite";

// Parses `url` (empty: kDefaultStoreUrl); relative SQLite paths are resolved against `dataDir`. On failure
// returns nothing and sets `error` (one sentence, never the password).
std::optional<StoreUrl> parseStoreUrl(const QString &url, const QString &dataDir, QString *error);

} // namespace cr
