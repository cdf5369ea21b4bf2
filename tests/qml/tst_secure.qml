// SPDX-License-Identifier: BSD-3-Clause
// Secure mode: with given certificate/key files, with the generated self-signed certificate (a real
// wss client pins its fingerprint), and every TLS failure reported as TlsError.
import QtQuick
import QtTest
import QuickWebSockets
import QwsTest

TestCase {
    id: test
    name: "Secure"

    Component { id: serverComponent; WebSocketServer { secureMode: WebSocketServer.SecureMode } }
    Component { id: clientComponent; TestClient { } }
    Component { id: spyComponent; SignalSpy { } }

    function spy(target, signalName) {
        return createTemporaryObject(spyComponent, test, {target: target, signalName: signalName})
    }
    function wssClient(server, pinned) {
        const c = createTemporaryObject(clientComponent, test, {url: server.url, pinnedFingerprint: pinned})
        c.open()
        return c
    }
    function echo(server) {
        server.clientConnected.connect(socket => socket.textMessageReceived.connect(m => socket.sendTextMessage(m)))
    }

    function test_generatedCertificate() {
        const s = createTemporaryObject(serverComponent, test)
        verify(s.listening, s.errorString)
        verify(s.url.toString().startsWith("wss://localhost:"), s.url)
        verify(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/.test(s.certificateFingerprint), s.certificateFingerprint)
        echo(s)
        const c = wssClient(s, s.certificateFingerprint)
        tryCompare(c, "connected", true, 10000)
        compare(c.peerFingerprint, s.certificateFingerprint)
        c.sendText("over TLS")
        tryCompare(c, "received", ["over TLS"])
    }

    function test_generatedCertificateKeptAcrossRestarts() {
        const s = createTemporaryObject(serverComponent, test)
        const first = s.certificateFingerprint
        verify(first.length > 0)
        s.host = "127.0.0.1"
        tryVerify(() => s.url.toString().startsWith("wss://127.0.0.1:"))
        compare(s.certificateFingerprint, first)
    }

    function test_unpinnedClientIsRefused() {
        const s = createTemporaryObject(serverComponent, test)
        const c = wssClient(s, "00:11")
        tryVerify(() => c.errorString.length > 0 || c.finished, 10000)
        verify(!c.connected)
        compare(c.peerFingerprint, s.certificateFingerprint) // it saw the generated certificate
    }

    function test_givenFiles() {
        const files = Helper.makeCertificate("localhost")
        verify(files.certificate, "openssl could not make a certificate")
        const s = createTemporaryObject(serverComponent, test,
                                        {certificate: files.certificate, privateKey: files.privateKey})
        verify(s.listening, s.errorString)
        compare(s.certificateFingerprint, files.fingerprint)
        echo(s)
        const c = wssClient(s, files.fingerprint)
        tryCompare(c, "connected", true, 10000)
        compare(c.peerFingerprint, files.fingerprint)
        c.sendText("given files")
        tryCompare(c, "received", ["given files"])
    }

    function test_fileUrls() {
        const files = Helper.makeCertificate("localhost")
        const s = createTemporaryObject(serverComponent, test,
                                        {certificate: "file://" + files.certificate,
                                         privateKey: "file://" + files.privateKey})
        verify(s.listening, s.errorString)
        compare(s.certificateFingerprint, files.fingerprint)
    }

    function test_changingFilesRestarts() {
        const one = Helper.makeCertificate("localhost")
        const two = Helper.makeCertificate("localhost")
        const s = createTemporaryObject(serverComponent, test,
                                        {certificate: one.certificate, privateKey: one.privateKey})
        compare(s.certificateFingerprint, one.fingerprint)
        const closed = spy(s, "closed")
        s.certificate = two.certificate
        s.privateKey = two.privateKey
        tryCompare(s, "certificateFingerprint", two.fingerprint)
        verify(s.listening)
        compare(closed.count, 1)
    }

    function test_tlsFailures_data() {
        return [
            {tag: "unreadable certificate", bad: "missingCert", text: "Cannot read the certificate"},
            {tag: "unreadable key", bad: "missingKey", text: "Cannot read the private key"},
            {tag: "certificate is not one", bad: "garbageCert", text: "no PEM or DER certificate"},
            {tag: "key is not one", bad: "garbageKey", text: "no unencrypted PEM private key"},
            {tag: "key does not match", bad: "otherKey", text: "does not match"},
            {tag: "only a certificate", bad: "noKey", text: "both certificate and privateKey"},
        ]
    }

    function test_tlsFailures(data) {
        const good = Helper.makeCertificate("localhost")
        const other = Helper.makeCertificate("localhost")
        const garbage = Helper.writeFile("garbage.pem", "not PEM at all\n")
        let cert = good.certificate, key = good.privateKey
        switch (data.bad) {
        case "missingCert": cert = "/nonexistent/cert.pem"; break
        case "missingKey": key = "/nonexistent/key.pem"; break
        case "garbageCert": cert = garbage; break
        case "garbageKey": key = garbage; break
        case "otherKey": key = other.privateKey; break
        case "noKey": key = ""; break
        }
        const s = createTemporaryObject(serverComponent, test, {certificate: cert, privateKey: key})
        compare(s.error, WebSocketServer.TlsError)
        verify(s.errorString.indexOf(data.text) >= 0, s.errorString)
        verify(!s.listening)
        compare(s.certificateFingerprint, "")
        // Still usable: fix the value and it listens.
        s.certificate = good.certificate
        s.privateKey = good.privateKey
        tryCompare(s, "listening", true)
        compare(s.error, WebSocketServer.NoError)
        compare(s.certificateFingerprint, good.fingerprint)
    }

    function test_nonSecureIgnoresFiles() {
        const s = createTemporaryObject(serverComponent, test,
                                        {secureMode: WebSocketServer.NonSecureMode,
                                         certificate: "/nonexistent/cert.pem"})
        verify(s.listening)
        verify(s.url.toString().startsWith("ws://"))
        compare(s.certificateFingerprint, "")
    }
}
