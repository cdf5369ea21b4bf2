// SPDX-License-Identifier: BSD-3-Clause
// Runner of the QML tests: one tst_*.qml per ctest (-import <build>/imports -input <file>).
#include "rawclient.h"
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
        qmlRegisterType<TestClient>("QwsTest", 1, 0, "TestClient");
        qmlRegisterType<RawClient>("QwsTest", 1, 0, "RawClient");
        qmlRegisterSingletonType<TestHelper>("QwsTest", 1, 0, "Helper",
                                             [](QQmlEngine *, QJSEngine *) -> QObject * {
                                                 return new TestHelper;
                                             });
    }
};

QUICK_TEST_MAIN_WITH_SETUP(quickwebsockets, Setup)

#include "tst_qml.moc"
