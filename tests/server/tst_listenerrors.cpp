// SPDX-License-Identifier: BSD-3-Clause
// listen() refused by the kernel with EACCES, for real: a privileged port without CAP_NET_BIND_SERVICE.
// Tests usually run as root, so the capability is dropped from this thread's effective set (it stays
// permitted) with the raw capget/capset syscalls, and restored afterwards. Without root the bind fails
// with EACCES anyway.
#include <websocketserver.h>

#include <QtCore/QFile>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

/// While alive, this thread's effective set lacks CAP_NET_BIND_SERVICE (capabilities are per thread,
/// and listen() binds on the calling thread).
class WithoutBindCapability
{
public:
    WithoutBindCapability()
    {
        if (!read())
            return;
        m_hadIt = m_data[0].effective & (1u << CAP_NET_BIND_SERVICE);
        if (!m_hadIt)
            return;
        m_data[0].effective &= ~(1u << CAP_NET_BIND_SERVICE);
        m_ok = write();
    }
    ~WithoutBindCapability()
    {
        if (m_hadIt && m_ok) {
            m_data[0].effective |= 1u << CAP_NET_BIND_SERVICE;
            write();
        }
    }
    /// The capability is not effective now (dropped by us, or never held).
    bool active() const { return !m_hadIt || m_ok; }
    bool dropped() const { return m_hadIt && m_ok; }
    static bool effectiveNow()
    {
        WithoutBindCapability probe(0);
        return probe.read() && (probe.m_data[0].effective & (1u << CAP_NET_BIND_SERVICE));
    }

private:
    explicit WithoutBindCapability(int) {}
    bool read()
    {
        m_header.version = _LINUX_CAPABILITY_VERSION_3;
        m_header.pid = 0;
        return ::syscall(SYS_capget, &m_header, m_data) == 0;
    }
    bool write() { return ::syscall(SYS_capset, &m_header, m_data) == 0; }

    __user_cap_header_struct m_header{};
    __user_cap_data_struct m_data[_LINUX_CAPABILITY_U32S_3]{};
    bool m_hadIt = false;
    bool m_ok = false;
};

} // namespace

class tst_ListenErrors : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void privilegedPortIsPermissionDenied();
};

void tst_ListenErrors::privilegedPortIsPermissionDenied()
{
    QFile sysctl(QStringLiteral("/proc/sys/net/ipv4/ip_unprivileged_port_start"));
    int firstFree = 1024;
    if (sysctl.open(QIODevice::ReadOnly))
        firstFree = sysctl.readAll().trimmed().toInt();
    if (firstFree <= 1)
        QSKIP("ip_unprivileged_port_start is 0 or 1: this host has no privileged ports to be refused");
    const quint16 port = quint16(firstFree - 1);

    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    QSignalSpy serverError(&server, &qws::WebSocketServer::serverError);
    bool dropped = false;
    {
        WithoutBindCapability guard;
        QVERIFY2(guard.active(), "could not drop CAP_NET_BIND_SERVICE from the effective set");
        QVERIFY(!WithoutBindCapability::effectiveNow());
        dropped = guard.dropped();
        QVERIFY(!server.listen(QHostAddress::LocalHost, port));
    }
    if (dropped)   // ran as root: the capability is back (it stayed in the permitted set)
        QVERIFY(WithoutBindCapability::effectiveNow());
    QVERIFY(!server.isListening());
    QCOMPARE(server.error(), qws::WebSocketProtocol::CloseCodeAbnormalDisconnection);
    const QString expected = QStringLiteral("cannot listen on 127.0.0.1:%1: permission denied").arg(port);
    QVERIFY2(server.errorString().startsWith(expected), qPrintable(server.errorString()));
    QCOMPARE(serverError.size(), 1);
    QCOMPARE(serverError.at(0).at(0).value<qws::WebSocketProtocol::CloseCode>(),
             qws::WebSocketProtocol::CloseCodeAbnormalDisconnection);
    QCOMPARE(server.serverPort(), quint16(0));

    // The same server listens fine on an unprivileged port afterwards, and the error is cleared.
    QVERIFY2(server.listen(QHostAddress::LocalHost, 0), qPrintable(server.errorString()));
    QCOMPARE(server.error(), qws::WebSocketProtocol::CloseCodeNormal);
    server.close();
}

QTEST_GUILESS_MAIN(tst_ListenErrors)
#include "tst_listenerrors.moc"
