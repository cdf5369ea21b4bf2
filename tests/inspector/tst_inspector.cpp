// SPDX-License-Identifier: BSD-3-Clause
// Runner of the inspector's Qt Quick Test: FileIO (the app's helper), a QWebSocket test client and a
// bare-TCP one.
#include "fileio.h"
#include "messagerings.h"
#include "rawclient.h"
#include "testclient.h"

#include <QtGui/QWindow>
#include <QtQml/QQmlEngine>
#include <QtQml/qqml.h>
#include <QtQuickTest/quicktest.h>
#include <QtTest/QTest>

/// QML singleton InspectorTest.KeyInput: real key events into the inspector's own window (TestCase's
/// keyClick() only reaches the test's window).
class KeyInput : public QObject
{
    Q_OBJECT
public:
    Q_INVOKABLE void type(QObject *window, const QString &text)
    {
        if (auto *w = qobject_cast<QWindow *>(window)) {
            for (const QChar c : text)
                QTest::keyClick(w, c.toLatin1());
        }
    }
    Q_INVOKABLE void press(QObject *window, int key, int modifiers = 0)
    {
        if (auto *w = qobject_cast<QWindow *>(window))
            QTest::keyClick(w, Qt::Key(key), Qt::KeyboardModifiers(modifiers));
    }
};

class Setup : public QObject
{
    Q_OBJECT
public Q_SLOTS:
    void applicationAvailable()
    {
        registerInspectorTypes();
        qmlRegisterType<TestClient>("InspectorTest", 1, 0, "TestClient");
        qmlRegisterType<RawClient>("InspectorTest", 1, 0, "RawClient");
        qmlRegisterSingletonType<KeyInput>("InspectorTest", 1, 0, "KeyInput",
                                           [](QQmlEngine *, QJSEngine *) -> QObject * { return new KeyInput; });
        qmlRegisterSingletonType<FileIO>("InspectorTest", 1, 0, "Files",
                                         [](QQmlEngine *, QJSEngine *) -> QObject * { return new FileIO; });
    }
};

QUICK_TEST_MAIN_WITH_SETUP(inspector, Setup)

#include "tst_inspector.moc"
