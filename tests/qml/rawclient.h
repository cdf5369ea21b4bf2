// SPDX-License-Identifier: BSD-3-Clause
// Test-only: a WebSocket client written on a bare QTcpSocket, so a test can see exactly which frames
// arrived before the TCP connection ended (e.g. that an abort sent no close frame).
#pragma once

#include <QtCore/QObject>
#include <QtCore/QUrl>
#include <QtCore/QVariantList>
#include <QtNetwork/QTcpSocket>

/// QML type RawClient (QwsTest and InspectorTest): handshake by hand, then records every frame's opcode.
class RawClient : public QObject
{
    Q_OBJECT
    Q_PROPERTY(QUrl url MEMBER m_url NOTIFY changed)
    Q_PROPERTY(QString origin MEMBER m_origin NOTIFY changed)
    /// When set, sent as is instead of the upgrade request (to provoke a bad request).
    Q_PROPERTY(QString request MEMBER m_request NOTIFY changed)
    /// This end's address and port once connected (what the server sees as the peer).
    Q_PROPERTY(QString localAddress READ localAddress NOTIFY changed)
    Q_PROPERTY(int localPort READ localPort NOTIFY changed)
    /// The first line of the server's HTTP response ("HTTP/1.1 101 Switching Protocols").
    Q_PROPERTY(QString statusLine READ statusLine NOTIFY changed)
    /// The server answered 101 Switching Protocols.
    Q_PROPERTY(bool upgraded READ upgraded NOTIFY changed)
    /// The TCP connection ended (the server closed or reset it).
    Q_PROPERTY(bool ended READ ended NOTIFY changed)
    /// Opcodes of the whole frames received after the 101, in order (1 text, 2 binary, 8 close, 9 ping, 10 pong).
    Q_PROPERTY(QVariantList opcodes READ opcodes NOTIFY changed)
    /// A close frame (opcode 8) arrived.
    Q_PROPERTY(bool closeFrameSeen READ closeFrameSeen NOTIFY changed)
    /// Bytes left over at the end that did not make a whole frame.
    Q_PROPERTY(int trailingBytes READ trailingBytes NOTIFY changed)
public:
    explicit RawClient(QObject *parent = nullptr);

    QString localAddress() const { return m_localAddress; }
    int localPort() const { return m_localPort; }
    QString statusLine() const { return m_statusLine; }
    bool upgraded() const { return m_upgraded; }
    bool ended() const { return m_ended; }
    QVariantList opcodes() const { return m_opcodes; }
    bool closeFrameSeen() const { return m_opcodes.contains(8); }
    int trailingBytes() const { return int(m_buffer.size()); }

    Q_INVOKABLE void open();

Q_SIGNALS:
    void changed();

private:
    void onReadyRead();
    void parseFrames();

    QTcpSocket m_socket;
    QUrl m_url;
    QString m_origin;
    QString m_request;
    QString m_localAddress;
    int m_localPort = 0;
    QString m_statusLine;
    QByteArray m_buffer;
    QVariantList m_opcodes;
    bool m_upgraded = false;
    bool m_ended = false;
};
