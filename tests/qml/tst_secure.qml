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
    Component {
        id: pskServerComponent
        WebSocketServer {
            property var identities: []
            secureMode: WebSocketServer.SecureMode
            preSharedKeyIdentityHint: "kiosk"
            onPreSharedKeyAuthenticationRequired: authenticator => {
                identities = identities.concat([authenticator.identity])
                if (authenticator.identity === "device-7")
                    authenticator.preSharedKey = new Uint8Array([115, 101, 115, 97, 109, 101]).buffer // "sesame"
            }
        }
    }
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

    function test_queryPeerReportsClientCertificateProblems() {
        const s = createTemporaryObject(serverComponent, test, {peerVerifyMode: WebSocketServer.QueryPeer})
        verify(s.listening, s.errorString)
        const verifyErrors = spy(s, "peerVerifyError")
        const sslErrors = spy(s, "sslErrors")
        const own = Helper.makeCertificate("client.example") // self-signed: verifies against nothing
        const c = createTemporaryObject(clientComponent, test,
                                        {url: s.url, pinnedFingerprint: s.certificateFingerprint,
                                         clientCertificate: own.certificate, clientKey: own.privateKey})
        c.open()
        tryCompare(c, "connected", true, 10000) // QueryPeer reports, and lets the client in
        tryVerify(() => sslErrors.count === 1, 5000)
        verify(verifyErrors.count >= 1)
        const errors = sslErrors.signalArguments[0][0]
        verify(errors.length >= 1)
        verify(typeof errors[0].error === "number" && errors[0].error > 0)
        verify(errors[0].errorString.length > 0)
        compare(verifyErrors.signalArguments[0][0].error, errors[0].error)
    }

    function test_verifyPeer() {
        const own = Helper.makeCertificate("client.example")
        const s = createTemporaryObject(serverComponent, test,
                                        {peerVerifyMode: WebSocketServer.VerifyPeer,
                                         caCertificates: own.certificate})
        verify(s.listening, s.errorString)
        const trusted = createTemporaryObject(clientComponent, test,
                                              {url: s.url, pinnedFingerprint: s.certificateFingerprint,
                                               clientCertificate: own.certificate, clientKey: own.privateKey})
        trusted.open()
        tryCompare(trusted, "connected", true, 10000)
        const anonymous = createTemporaryObject(clientComponent, test,
                                                {url: s.url, pinnedFingerprint: s.certificateFingerprint})
        anonymous.open()
        tryVerify(() => anonymous.errorString.length > 0 || anonymous.finished, 10000)
        verify(!anonymous.connected)
        compare(s.connectionCount, 1)
    }

    function test_badCaCertificates() {
        const garbage = Helper.writeFile("garbage-ca.pem", "nothing here\n")
        const s = createTemporaryObject(serverComponent, test,
                                        {peerVerifyMode: WebSocketServer.VerifyPeer, caCertificates: garbage})
        compare(s.error, WebSocketServer.TlsError)
        verify(s.errorString.indexOf("no PEM certificate") >= 0, s.errorString)
        verify(!s.listening)
    }

    function test_preSharedKey() {
        const s = createTemporaryObject(pskServerComponent, test)
        verify(s.listening, s.errorString)
        const asked = spy(s, "preSharedKeyAuthenticationRequired")
        const good = createTemporaryObject(clientComponent, test,
                                           {url: s.url, pskIdentity: "device-7", pskKey: "sesame"})
        good.open()
        tryCompare(good, "connected", true, 10000)
        compare(good.pskIdentityHint, "kiosk")
        const bad = createTemporaryObject(clientComponent, test,
                                          {url: s.url, pskIdentity: "device-7", pskKey: "wrong"})
        bad.open()
        tryVerify(() => bad.errorString.length > 0 || bad.finished, 10000)
        verify(!bad.connected)
        const stranger = createTemporaryObject(clientComponent, test,
                                               {url: s.url, pskIdentity: "stranger", pskKey: "sesame"})
        stranger.open()
        tryVerify(() => stranger.errorString.length > 0 || stranger.finished, 10000)
        verify(!stranger.connected)
        compare(asked.count, 3)
        compare(s.identities, ["device-7", "device-7", "stranger"])
        compare(s.connectionCount, 1)
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
