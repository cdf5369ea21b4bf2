// SPDX-License-Identifier: BSD-3-Clause
// Test-only bare-TCP WebSocket client (see rawclient.h).
#include "rawclient.h"

RawClient::RawClient(QObject *parent) : QObject(parent)
{
    connect(&m_socket, &QTcpSocket::connected, this, [this] {
        m_localAddress = m_socket.localAddress().toString();
        m_localPort = m_socket.localPort();
        Q_EMIT changed();
        if (!m_request.isEmpty()) {
            m_socket.write(m_request.toUtf8());
            return;
        }
        const QByteArray path = m_url.path(QUrl::FullyEncoded).toLatin1();
        QByteArray request = "GET " + (path.isEmpty() ? QByteArray("/") : path) + " HTTP/1.1\r\n"
                "Host: " + m_url.host().toLatin1() + ":" + QByteArray::number(m_url.port()) + "\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
        if (!m_origin.isEmpty())
            request += "Origin: " + m_origin.toUtf8() + "\r\n";
        m_socket.write(request + "\r\n");
    });
    connect(&m_socket, &QTcpSocket::readyRead, this, &RawClient::onReadyRead);
    connect(&m_socket, &QTcpSocket::disconnected, this, [this] {
        if (m_socket.isOpen() && m_socket.bytesAvailable() > 0)
            onReadyRead();
        m_ended = true;
        Q_EMIT changed();
    });
}

void RawClient::open()
{
    m_socket.connectToHost(m_url.host(), quint16(m_url.port()));
}

void RawClient::onReadyRead()
{
    m_buffer += m_socket.readAll();
    if (!m_upgraded) {
        const qsizetype end = m_buffer.indexOf("\r\n\r\n");
        if (end < 0)
            return;
        m_statusLine = QString::fromLatin1(m_buffer.left(m_buffer.indexOf("\r\n")));
        m_upgraded = m_buffer.startsWith("HTTP/1.1 101");
        m_buffer.remove(0, end + 4);
        if (!m_upgraded) {
            m_buffer.clear();
            Q_EMIT changed();
            return;
        }
    }
    parseFrames();
    Q_EMIT changed();
}

// Server frames are unmasked (RFC 6455 §5.1): 2 bytes, an extended length, then the payload.
void RawClient::parseFrames()
{
    for (;;) {
        if (m_buffer.size() < 2)
            return;
        const auto b0 = quint8(m_buffer[0]), b1 = quint8(m_buffer[1]);
        qsizetype header = 2;
        quint64 length = b1 & 0x7f;
        if (length == 126) {
            if (m_buffer.size() < 4)
                return;
            length = (quint64(quint8(m_buffer[2])) << 8) | quint8(m_buffer[3]);
            header = 4;
        } else if (length == 127) {
            if (m_buffer.size() < 10)
                return;
            length = 0;
            for (int i = 2; i < 10; ++i)
                length = (length << 8) | quint8(m_buffer[i]);
            header = 10;
        }
        if (b1 & 0x80)
            header += 4;
        if (quint64(m_buffer.size()) < header + length)
            return;
        m_opcodes.append(int(b0 & 0x0f));
        m_buffer.remove(0, header + qsizetype(length));
    }
}
