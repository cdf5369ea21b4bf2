// SPDX-License-Identifier: BSD-3-Clause
// Run by check_install.cmake against the installed module only: the plugin loads, types and
// components resolve, and a server listens.
import QtQuick
import QtTest
import QuickWebSockets

TestCase {
    id: test
    name: "InstalledModule"

    Component { id: serverComponent; WebSocketServer { host: "127.0.0.1" } }
    Component { id: listComponent; ConnectionList { } }
    Component { id: logComponent; MessageLog { } }

    function test_moduleWorksFromTheInstall() {
        const s = createTemporaryObject(serverComponent, test)
        verify(s.listening, s.errorString)
        verify(s.url.toString().startsWith("ws://127.0.0.1:"))
        const list = createTemporaryObject(listComponent, test, {server: s})
        compare(list.count, 0)
        const log = createTemporaryObject(logComponent, test)
        log.append("in", "text", "x", 1)
        compare(log.count, 1)
    }
}
