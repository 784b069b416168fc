// ActiveDraft: edits stay in the draft (never in the store, never in a copy taken for a run), switching,
// reset, and what a reload of the file does to an unedited draft (follows) and an edited one (kept, stale).

#include "core/workflows/activedraft.h"
#include "core/workflows/workflowstore.h"

#include <QFile>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace cr;

namespace {

constexpr int kWaitMs = 5000;

QByteArray graph(const QByteArray &prompt, int steps = 20)
{
    return R"({"3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": )" + QByteArray::number(steps)
        + R"(, "cfg": 7.0, "positive": ["6", 0]}},
              "6": {"class_type": "CLIPTextEncode", "inputs": {"text": ")"
        + prompt + R"("},
                    "_meta": {"title": "Positive Prompt"}}})";
}

bool writeFile(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

QString promptOf(const QJsonObject &g)
{
    return g.value(QStringLiteral("6"))
        .toObject()
        .value(QStringLiteral("inputs"))
        .toObject()
        .value(QStringLiteral("text"))
        .toString();
}

NodeMappings mappings()
{
    NodeMappings m;
    m.global.insert(QStringLiteral("prompt"), QStringLiteral("6"));
    m.perWorkflow[QStringLiteral("a")].insert(QStringLiteral("steps"), QStringLiteral("3.steps"));
    return m;
}

} // namespace

class TstActiveDraft : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void editsStayInTheDraft();
    void switchAndReset();
    void unmodifiedDraftFollowsTheFile();
    void editedDraftIsKeptAndStale();
    void deletedFileKeepsDraft();
    void workflowThatAppearsLater();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<WorkflowStore> m_store;
    QString path(const char *name) const { return m_dir->filePath(QString::fromLatin1(name)); }
};

void TstActiveDraft::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    QVERIFY(writeFile(path("a.json"), graph("file a")));
    QVERIFY(writeFile(path("b.json"), graph("file b")));
    QVERIFY(writeFile(path("broken.json"), "{"));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("broken")));
    m_store = std::make_unique<WorkflowStore>(m_dir->path());
    m_store->setDebounceMs(20);
}

void TstActiveDraft::cleanup()
{
    m_store.reset();
    m_dir.reset();
}

void TstActiveDraft::editsStayInTheDraft()
{
    ActiveDraft draft(m_store.get(), mappings(), QStringLiteral("a.json"));
    QCOMPARE(draft.name(), QStringLiteral("a"));
    QVERIFY(draft.hasDraft());
    QVERIFY(!draft.isModified());
    QSignalSpy spy(&draft, &ActiveDraft::draftChanged);

    const Workflow run1 = draft.workflow(); // what a run would take
    QVERIFY(!draft.setText(QStringLiteral("6"), QStringLiteral("edited")));
    QCOMPARE(spy.count(), 1);
    QVERIFY(draft.isModified());
    QCOMPARE(promptOf(draft.draft()), QStringLiteral("edited"));
    QCOMPARE(promptOf(run1.graph()), QStringLiteral("file a"));
    QCOMPARE(promptOf(m_store->find(QStringLiteral("a"))->graph()), QStringLiteral("file a"));

    // Per-workflow and global mappings both apply; a failed batch changes nothing and signals nothing.
    QVERIFY(draft.applyInputs({{"steps", 33}, {"prompt", "batch"}}).ok());
    QCOMPARE(spy.count(), 2);
    QCOMPARE(draft.draft()["3"].toObject()["inputs"].toObject()["steps"].toInteger(), qint64(33));
    const QJsonObject before = draft.draft();
    const Result<QList<InputChange>> bad = draft.applyInputs({{"prompt", "x"}, {"steps", "many"}});
    QVERIFY(!bad.ok());
    QCOMPARE(bad.error().code, QStringLiteral("type_mismatch"));
    QCOMPARE(draft.draft(), before);
    QCOMPARE(spy.count(), 2);
    QCOMPARE(draft.setParameter(QStringLiteral("nope"), 1)->code, QStringLiteral("unknown_parameter"));
    QCOMPARE(draft.setInput(QStringLiteral("3"), QStringLiteral("positive"), QJsonValue("x"))->code,
             QStringLiteral("linked_input"));
    QCOMPARE(draft.parameters().parameters.size(), 3); // prompt, steps, "Positive Prompt"
}

void TstActiveDraft::switchAndReset()
{
    ActiveDraft draft(m_store.get(), mappings(), QStringLiteral("a"));
    QVERIFY(!draft.setText(QStringLiteral("6"), QStringLiteral("edited")));

    const Status unknown = draft.switchTo(QStringLiteral("../a"));
    QVERIFY(unknown.has_value());
    QCOMPARE(unknown->code, QStringLiteral("unknown_workflow"));
    const Status broken = draft.switchTo(QStringLiteral("broken"));
    QVERIFY(broken.has_value());
    QVERIFY2(broken->message.contains(QStringLiteral("not valid JSON")), qPrintable(broken->message));
    QCOMPARE(draft.name(), QStringLiteral("a")); // unchanged by the failures
    QCOMPARE(promptOf(draft.draft()), QStringLiteral("edited"));

    QVERIFY(!draft.switchTo(QStringLiteral("b")));
    QCOMPARE(draft.name(), QStringLiteral("b"));
    QCOMPARE(promptOf(draft.draft()), QStringLiteral("file b"));
    QVERIFY(!draft.isModified());
    // The per-workflow mapping of "a" does not apply to "b".
    QCOMPARE(draft.setParameter(QStringLiteral("steps"), 5)->code, QStringLiteral("unknown_parameter"));

    QCOMPARE(draft.setImage(QStringLiteral("6"), QStringLiteral("x.png"))->code, QStringLiteral("unknown_input"));
    QVERIFY(!draft.setText(QStringLiteral("6"), QStringLiteral("edited b")));
    QVERIFY(draft.isModified());
    QVERIFY(!draft.reset());
    QCOMPARE(promptOf(draft.draft()), QStringLiteral("file b"));
    QVERIFY(!draft.isModified());
}

void TstActiveDraft::unmodifiedDraftFollowsTheFile()
{
    ActiveDraft draft(m_store.get(), mappings(), QStringLiteral("a"));
    QSignalSpy spy(&draft, &ActiveDraft::draftChanged);
    QVERIFY(writeFile(path("a.json"), graph("new file a")));
    QVERIFY(spy.wait(kWaitMs));
    QTRY_COMPARE_WITH_TIMEOUT(promptOf(draft.draft()), QStringLiteral("new file a"), kWaitMs);
    QVERIFY(!draft.isStale());
    QVERIFY(!draft.isModified());
}

void TstActiveDraft::editedDraftIsKeptAndStale()
{
    ActiveDraft draft(m_store.get(), mappings(), QStringLiteral("a"));
    QVERIFY(!draft.setText(QStringLiteral("6"), QStringLiteral("mine")));
    QSignalSpy spy(&draft, &ActiveDraft::draftChanged);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("draft is kept")));
    QVERIFY(writeFile(path("a.json"), graph("theirs")));
    QVERIFY(spy.wait(kWaitMs));
    QTRY_VERIFY_WITH_TIMEOUT(draft.isStale(), kWaitMs);
    QCOMPARE(promptOf(draft.draft()), QStringLiteral("mine"));
    QVERIFY(draft.isModified());

    QVERIFY(!draft.reset());
    QVERIFY(!draft.isStale());
    QCOMPARE(promptOf(draft.draft()), QStringLiteral("theirs"));
}

void TstActiveDraft::deletedFileKeepsDraft()
{
    ActiveDraft draft(m_store.get(), mappings(), QStringLiteral("a"));
    QSignalSpy spy(&draft, &ActiveDraft::draftChanged);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("removed")));
    QVERIFY(QFile::remove(path("a.json")));
    QVERIFY(spy.wait(kWaitMs));
    QTRY_VERIFY_WITH_TIMEOUT(draft.isStale(), kWaitMs);
    QVERIFY(draft.hasDraft());
    QCOMPARE(promptOf(draft.draft()), QStringLiteral("file a"));
    QCOMPARE(draft.reset()->code, QStringLiteral("unknown_workflow"));
}

void TstActiveDraft::workflowThatAppearsLater()
{
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("no workflow 'later'")));
    ActiveDraft draft(m_store.get(), mappings(), QStringLiteral("later"));
    QVERIFY(!draft.hasDraft());
    QCOMPARE(draft.setText(QStringLiteral("6"), QStringLiteral("x"))->code, QStringLiteral("unknown_workflow"));
    QSignalSpy spy(&draft, &ActiveDraft::draftChanged);
    QVERIFY(writeFile(path("later.json"), graph("late")));
    QVERIFY(spy.wait(kWaitMs));
    QVERIFY(draft.hasDraft());
    QCOMPARE(promptOf(draft.draft()), QStringLiteral("late"));
}

QTEST_GUILESS_MAIN(TstActiveDraft)
#include "tst_activedraft.moc"
