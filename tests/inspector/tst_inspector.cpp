// SPDX-License-Identifier: BSD-3-Clause
// Runner of the inspector's Qt Quick Test: FileIO (the app's helper) and a QWebSocket test client.
#include "fileio.h"
#include "testclient.h"

#include <QtQml/QQmlEngine>
#include <QtQml/qqml.h>
#include <QtQuickTest/quicktest.h>

class Setup : public QObject
{
    Q_OBJECT
public Q_SLOTS:
    void applicationAvailable()
    {
        qmlRegisterType<TestClient>("InspectorTest", 1, 0, "TestClient");
        qmlRegisterSingletonType<FileIO>("InspectorTest", 1, 0, "Files",
                                         [](QQmlEngine *, QJSEngine *) -> QObject * { return new FileIO; });
    }
};

QUICK_TEST_MAIN_WITH_SETUP(inspector, Setup)

#include "tst_inspector.moc"
