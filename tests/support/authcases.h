#pragma once
// The token rule's combinations (core/common/auth.h), as QTest data rows, so that the REST API, the event
// streams and the relay are tested against the same table. The configured token is kAuthToken.
// Columns: "query" (query string, may be empty), "header" (Authorization value; empty = no header),
// "withQuery" (accepted where ?token= is allowed), "withoutQuery" (accepted where it is not).

#include <QByteArray>
#include <QString>
#include <QTest>

namespace cr::testing {

inline const QString kAuthToken = QStringLiteral("s3cret tok");

inline void addAuthRows()
{
    QTest::addColumn<QString>("query");
    QTest::addColumn<QByteArray>("header");
    QTest::addColumn<bool>("withQuery");
    QTest::addColumn<bool>("withoutQuery");
    const QString right = QStringLiteral("token=s3cret%20tok");
    const QString wrong = QStringLiteral("token=s3cret");
    QTest::newRow("nothing") << QString() << QByteArray() << false << false;
    QTest::newRow("query right") << right << QByteArray() << true << false;
    QTest::newRow("query wrong") << wrong << QByteArray() << false << false;
    QTest::newRow("query longer") << QStringLiteral("token=s3cret%20tok2") << QByteArray() << false << false;
    QTest::newRow("query empty") << QStringLiteral("token=") << QByteArray() << false << false;
    QTest::newRow("header right") << QString() << QByteArray("Bearer s3cret tok") << true << true;
    QTest::newRow("header lower-case scheme") << QString() << QByteArray("bearer s3cret tok") << true << true;
    QTest::newRow("header upper-case scheme, two spaces")
        << QString() << QByteArray("BEARER  s3cret tok") << true << true;
    QTest::newRow("header prefix of token") << QString() << QByteArray("Bearer s3cret to") << false << false;
    QTest::newRow("header scheme only") << QString() << QByteArray("Bearer") << false << false;
    QTest::newRow("header no space") << QString() << QByteArray("Bearers3cret tok") << false << false;
    QTest::newRow("header not bearer") << QString() << QByteArray("Basic czNjcmV0IHRvaw==") << false << false;
    QTest::newRow("wrong header, right query") << right << QByteArray("Bearer x") << false << false;
    QTest::newRow("other scheme, right query") << right << QByteArray("Basic czNjcmV0IHRvaw==") << false << false;
    QTest::newRow("right header, wrong query") << wrong << QByteArray("Bearer s3cret tok") << true << true;
    QTest::newRow("right header, right query") << right << QByteArray("bearer s3cret tok") << true << true;
}

} // namespace cr::testing
