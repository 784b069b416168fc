#pragma once
// The job store a test runs against: an SQLite file in the test's folder, or, when CR_TEST_STORE=postgresql
// (the *_pg CTest entries, which scripts/pg-test-cluster.sh runs against a temporary cluster of their own),
// the PostgreSQL database of CR_TEST_PG_URL. The same test code runs on both engines.

#include "core/jobs/jobstore.h"

#include <QString>

#include <memory>

namespace cr::test {

class TestStore
{
public:
    // `dir`: the folder of the SQLite file (the PostgreSQL variant ignores it).
    explicit TestStore(const QString &dir);

    static bool isPostgres(); // CR_TEST_STORE=postgresql
    // Empties the store before a test (SQLite: the file goes; PostgreSQL: every table goes). False with `why`
    // when the store cannot be reached, or CR_TEST_STORE=postgresql without CR_TEST_PG_URL.
    bool reset(QString *why) const;
    std::unique_ptr<JobStore> open() const;
    StoreUrl url() const;
    QString password() const;   // PostgreSQL: CR_TEST_PG_PASSWORD
    QString configUrl() const;  // the value for [store] url
    QString sqlitePath() const; // the SQLite file (empty for PostgreSQL)
    // One value read beside JobStore through a connection of its own (empty when there is none).
    QString peek(const QString &sql) const;
    // Runs statements beside JobStore (e.g. to fake an older or newer schema). False with `why` on failure.
    bool exec(const QStringList &sql, QString *why = nullptr) const;

private:
    QString m_dir;
};

} // namespace cr::test

// A store write a test expects to succeed; fails with the error's message.
#define CR_VERIFY_OK(expr)                                                                                             \
    do {                                                                                                               \
        const ::cr::StoreResult crStored = (expr);                                                                     \
        QVERIFY2(crStored.ok(), crStored.ok() ? "" : qPrintable(crStored.error().message));                            \
    } while (false)
