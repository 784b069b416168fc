// WorkflowStore: the repo's workflows folder, broken files reported, files added / edited / deleted /
// replaced by rename picked up through the file watcher (waiting on changed(), never sleeping), a folder that
// appears later, and names that try to leave the folder.

#include "core/workflows/workflowstore.h"

#include <QDir>
#include <QFile>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <cstdio>

using namespace cr;

namespace {

constexpr int kWaitMs = 5000;

QByteArray graphWithText(const QByteArray &text)
{
    return R"({"1": {"class_type": "CLIPTextEncode", "inputs": {"text": ")" + text + R"("}}})";
}

bool writeFile(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

QString textOf(const WorkflowStore &store, const QString &name)
{
    const std::optional<Workflow> wf = store.find(name);
    return wf ? wf->inputValue(QStringLiteral("1"), QStringLiteral("text")).toString() : QString();
}

} // namespace

class TstWorkflowStore : public QObject
{
    Q_OBJECT

private slots:
    void loadsRepoFolder();
    void reportsBrokenFiles();
    void reloadWithoutChangeIsSilent();
    void picksUpNewFile();
    void picksUpModifiedFile();
    void picksUpDeletedFile();
    void picksUpReplaceByRename();
    void brokenFileFixed();
    void missingFolderAppearsLater();
    void hostileNames_data();
    void hostileNames();
    void nameForms();
};

void TstWorkflowStore::loadsRepoFolder()
{
    const QString folder = QStringLiteral(CR_SOURCE_DIR "/workflows");
    WorkflowStore store(folder);
    QVERIFY(store.names().contains(QStringLiteral("sd15_txt2img")));
    // The examples shipped with the repo must all load.
    for (const WorkflowLoadError &e : store.errors())
        QFAIL(qPrintable(e.filePath + QStringLiteral(": ") + e.error.message));
    const QStringList files = QDir(folder).entryList({QStringLiteral("*.json")}, QDir::Files);
    QCOMPARE(store.names().size(), files.size());
    const std::optional<Workflow> wf = store.find(QStringLiteral("sd15_txt2img"));
    QVERIFY(wf.has_value());
    QCOMPARE(wf->name(), QStringLiteral("sd15_txt2img"));
    QCOMPARE(wf->filePath(), QDir(folder).absoluteFilePath(QStringLiteral("sd15_txt2img.json")));
}

void TstWorkflowStore::reportsBrokenFiles()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QVERIFY(writeFile(dir.filePath(QStringLiteral("good.json")), graphWithText("ok")));
    QVERIFY(writeFile(dir.filePath(QStringLiteral("broken.json")), "{\n\"1\": {\n"));
    QVERIFY(writeFile(dir.filePath(QStringLiteral("ui.json")), R"({"last_node_id": 3, "nodes": [], "links": []})"));
    QVERIFY(writeFile(dir.filePath(QStringLiteral("notes.txt")), "not a workflow"));
    QVERIFY(writeFile(dir.filePath(QStringLiteral(".hidden.json")), graphWithText("hidden")));

    WorkflowStore store(dir.path());
    QCOMPARE(store.names(), QStringList{QStringLiteral("good")});
    const QList<WorkflowLoadError> errors = store.errors();
    QCOMPARE(errors.size(), 2);
    QCOMPARE(errors.at(0).name, QStringLiteral("broken"));
    QCOMPARE(errors.at(0).error.code, QStringLiteral("invalid_workflow"));
    QVERIFY(errors.at(0).error.message.contains(QStringLiteral("line")));
    QCOMPARE(errors.at(0).filePath, dir.filePath(QStringLiteral("broken.json")));
    QCOMPARE(errors.at(1).name, QStringLiteral("ui"));
    QVERIFY(errors.at(1).error.message.contains(QStringLiteral("Export (API)")));
    QCOMPARE(store.errorFor(QStringLiteral("ui.json"))->name, QStringLiteral("ui"));
    QVERIFY(!store.errorFor(QStringLiteral("good")).has_value());
    QCOMPARE(errors.at(1).toJson().value(QStringLiteral("error")).toObject().value(QStringLiteral("code")).toString(),
             QStringLiteral("invalid_workflow"));
}

void TstWorkflowStore::reloadWithoutChangeIsSilent()
{
    QTemporaryDir dir;
    QVERIFY(writeFile(dir.filePath(QStringLiteral("a.json")), graphWithText("a")));
    WorkflowStore store(dir.path());
    QSignalSpy spy(&store, &WorkflowStore::changed);
    store.reload();
    QCOMPARE(spy.count(), 0);
    QVERIFY(writeFile(dir.filePath(QStringLiteral("b.json")), graphWithText("b")));
    store.reload(); // synchronous: no watcher involved
    QCOMPARE(spy.count(), 1);
    QCOMPARE(store.names(), (QStringList{QStringLiteral("a"), QStringLiteral("b")}));
}

void TstWorkflowStore::picksUpNewFile()
{
    QTemporaryDir dir;
    WorkflowStore store(dir.path());
    store.setDebounceMs(20);
    QVERIFY(store.names().isEmpty());
    QSignalSpy spy(&store, &WorkflowStore::changed);
    QVERIFY(writeFile(dir.filePath(QStringLiteral("new one.json")), graphWithText("fresh")));
    QVERIFY(spy.wait(kWaitMs));
    QTRY_COMPARE_WITH_TIMEOUT(textOf(store, QStringLiteral("new one")), QStringLiteral("fresh"), kWaitMs);
}

void TstWorkflowStore::picksUpModifiedFile()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("w.json"));
    QVERIFY(writeFile(path, graphWithText("before")));
    WorkflowStore store(dir.path());
    store.setDebounceMs(20);
    QCOMPARE(textOf(store, QStringLiteral("w")), QStringLiteral("before"));
    const QByteArray hashBefore = store.find(QStringLiteral("w"))->contentHash();
    QSignalSpy spy(&store, &WorkflowStore::changed);
    QVERIFY(writeFile(path, graphWithText("after")));
    QVERIFY(spy.wait(kWaitMs));
    QTRY_COMPARE_WITH_TIMEOUT(textOf(store, QStringLiteral("w")), QStringLiteral("after"), kWaitMs);
    QVERIFY(store.find(QStringLiteral("w"))->contentHash() != hashBefore);
}

void TstWorkflowStore::picksUpDeletedFile()
{
    QTemporaryDir dir;
    QVERIFY(writeFile(dir.filePath(QStringLiteral("keep.json")), graphWithText("k")));
    QVERIFY(writeFile(dir.filePath(QStringLiteral("gone.json")), graphWithText("g")));
    WorkflowStore store(dir.path());
    store.setDebounceMs(20);
    QCOMPARE(store.names().size(), 2);
    QSignalSpy spy(&store, &WorkflowStore::changed);
    QVERIFY(QFile::remove(dir.filePath(QStringLiteral("gone.json"))));
    QVERIFY(spy.wait(kWaitMs));
    QTRY_COMPARE_WITH_TIMEOUT(store.names(), QStringList{QStringLiteral("keep")}, kWaitMs);
    QVERIFY(!store.find(QStringLiteral("gone")).has_value());
}

void TstWorkflowStore::picksUpReplaceByRename()
{
    // Editors save by writing a temporary file and renaming it over the original.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("w.json"));
    QVERIFY(writeFile(path, graphWithText("v1")));
    WorkflowStore store(dir.path());
    store.setDebounceMs(20);
    QSignalSpy spy(&store, &WorkflowStore::changed);

    const QString tmp = dir.filePath(QStringLiteral(".w.json.swp"));
    QVERIFY(writeFile(tmp, graphWithText("v2")));
    QCOMPARE(std::rename(QFile::encodeName(tmp).constData(), QFile::encodeName(path).constData()), 0);
    QVERIFY(spy.wait(kWaitMs));
    QTRY_COMPARE_WITH_TIMEOUT(textOf(store, QStringLiteral("w")), QStringLiteral("v2"), kWaitMs);

    // The new file (a new inode) is watched too: an in-place edit after the rename is seen.
    spy.clear();
    QVERIFY(writeFile(path, graphWithText("v3")));
    QVERIFY(spy.wait(kWaitMs));
    QTRY_COMPARE_WITH_TIMEOUT(textOf(store, QStringLiteral("w")), QStringLiteral("v3"), kWaitMs);
}

void TstWorkflowStore::brokenFileFixed()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("w.json"));
    QVERIFY(writeFile(path, R"({"1": {"class_type": "X"}})"));
    WorkflowStore store(dir.path());
    store.setDebounceMs(20);
    QVERIFY(store.errorFor(QStringLiteral("w")).has_value());
    QVERIFY(store.errorFor(QStringLiteral("w"))->error.message.contains(QStringLiteral("no inputs")));
    QSignalSpy spy(&store, &WorkflowStore::changed);
    QVERIFY(writeFile(path, graphWithText("fixed")));
    QVERIFY(spy.wait(kWaitMs));
    QTRY_COMPARE_WITH_TIMEOUT(textOf(store, QStringLiteral("w")), QStringLiteral("fixed"), kWaitMs);
    QVERIFY(store.errors().isEmpty());
}

void TstWorkflowStore::missingFolderAppearsLater()
{
    QTemporaryDir dir;
    const QString folder = dir.filePath(QStringLiteral("later"));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("does not exist")));
    WorkflowStore store(folder);
    store.setDebounceMs(20);
    QVERIFY(store.names().isEmpty());
    QVERIFY(store.errors().isEmpty());

    QSignalSpy spy(&store, &WorkflowStore::changed);
    // The folder's creation is seen through its parent; from then on its files are watched.
    QVERIFY(QDir(dir.path()).mkdir(QStringLiteral("later")));
    QVERIFY(writeFile(folder + QStringLiteral("/w.json"), graphWithText("here")));
    QVERIFY(spy.wait(kWaitMs));
    QTRY_COMPARE_WITH_TIMEOUT(textOf(store, QStringLiteral("w")), QStringLiteral("here"), kWaitMs);
}

void TstWorkflowStore::hostileNames_data()
{
    QTest::addColumn<QString>("name");
    QTest::newRow("parent") << "../outside";
    QTest::newRow("parent with suffix") << "../outside.json";
    QTest::newRow("absolute") << "/etc/passwd";
    QTest::newRow("absolute to the file") << "ABS";
    QTest::newRow("nested") << "sub/inner";
    QTest::newRow("back and forth") << "sub/../w";
    QTest::newRow("backslash") << "..\\outside";
    QTest::newRow("dot") << ".";
    QTest::newRow("dot dot") << "..";
    QTest::newRow("hidden") << ".hidden";
    QTest::newRow("empty") << "";
    QTest::newRow("control character") << QStringLiteral("w\nx");
    QTest::newRow("nul") << QString(QStringLiteral("w") + QChar(0));
}

void TstWorkflowStore::hostileNames()
{
    QFETCH(QString, name);
    QTemporaryDir dir;
    const QString folder = dir.filePath(QStringLiteral("wf"));
    QVERIFY(QDir(dir.path()).mkpath(QStringLiteral("wf/sub")));
    QVERIFY(writeFile(dir.filePath(QStringLiteral("outside.json")), graphWithText("outside")));
    QVERIFY(writeFile(folder + QStringLiteral("/sub/inner.json"), graphWithText("inner")));
    QVERIFY(writeFile(folder + QStringLiteral("/.hidden.json"), graphWithText("hidden")));
    QVERIFY(writeFile(folder + QStringLiteral("/w.json"), graphWithText("w")));
    if (name == QLatin1String("ABS"))
        name = folder + QStringLiteral("/w.json");

    WorkflowStore store(folder);
    QCOMPARE(store.names(), QStringList{QStringLiteral("w")});
    QVERIFY(!WorkflowStore::isValidName(WorkflowStore::normaliseName(name)));
    QVERIFY(!store.find(name).has_value());
    QVERIFY(!store.errorFor(name).has_value());
}

void TstWorkflowStore::nameForms()
{
    QTemporaryDir dir;
    QVERIFY(writeFile(dir.filePath(QStringLiteral("v1.5 portrait.json")), graphWithText("p")));
    WorkflowStore store(dir.path());
    QCOMPARE(store.names(), QStringList{QStringLiteral("v1.5 portrait")});
    QCOMPARE(textOf(store, QStringLiteral("v1.5 portrait")), QStringLiteral("p"));
    QCOMPARE(textOf(store, QStringLiteral("v1.5 portrait.json")), QStringLiteral("p"));
    QVERIFY(!store.find(QStringLiteral("V1.5 PORTRAIT")).has_value()); // file names are case-sensitive
}

QTEST_GUILESS_MAIN(TstWorkflowStore)
#include "tst_workflowstore.moc"
