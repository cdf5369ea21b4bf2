// SPDX-License-Identifier: BSD-3-Clause
// echoserver: a small C++ echo server on qws::WebSocketServer (ws:// or wss://), for tests and benchmarks.
#include <websocket.h>
#include <websocketserver.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QFile>
#include <QtNetwork/QSslCertificate>
#include <QtNetwork/QSslKey>

#include <cstdio>

#include "fdlimit.h"

int main(int argc, char *argv[])
{
    qws::examples::raiseFileLimit();   // many connections need many descriptors
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("echoserver"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Echoes every WebSocket message back to its sender."));
    parser.addHelpOption();
    const QCommandLineOption portOption(QStringLiteral("port"), QStringLiteral("Port (0: any free)."),
                                        QStringLiteral("port"), QStringLiteral("0"));
    const QCommandLineOption hostOption(QStringLiteral("host"), QStringLiteral("Address to listen on."),
                                        QStringLiteral("address"), QStringLiteral("127.0.0.1"));
    const QCommandLineOption threadsOption(QStringLiteral("threads"),
                                           QStringLiteral("Engine threads (default: one per core)."),
                                           QStringLiteral("n"));
    const QCommandLineOption noCompressionOption(QStringLiteral("no-compression"),
                                                 QStringLiteral("Do not negotiate permessage-deflate."));
    const QCommandLineOption certOption(QStringLiteral("cert"),
                                        QStringLiteral("PEM certificate (chain): serve wss://."),
                                        QStringLiteral("file"));
    const QCommandLineOption keyOption(QStringLiteral("key"), QStringLiteral("PEM private key for --cert."),
                                       QStringLiteral("file"));
    const QCommandLineOption perSocketOption(QStringLiteral("per-socket-connects"),
                                             QStringLiteral("Connect each socket's own signals (three connect()s "
                                                            "per socket) instead of the server-level ones."));
    const QCommandLineOption engineOption(QStringLiteral("engine-echo"),
                                          QStringLiteral("Echo on the engine threads (setEngineMessageHandler()) "
                                                         "instead of in slots on the main thread."));
    parser.addOptions({portOption, hostOption, threadsOption, noCompressionOption, certOption, keyOption,
                       perSocketOption, engineOption});
    parser.process(app);

    const bool secure = parser.isSet(certOption);
    qws::WebSocketServer server(QStringLiteral("qws-echoserver"),
                                secure ? qws::WebSocketServer::SecureMode : qws::WebSocketServer::NonSecureMode);
    if (parser.isSet(threadsOption))
        server.setWorkerThreadCount(parser.value(threadsOption).toInt());
    if (parser.isSet(noCompressionOption)) {
        qws::CompressionOptions compression = server.compression();
        compression.enabled = false;
        server.setCompression(compression);
    }
    if (secure) {
        QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
        const QList<QSslCertificate> chain = QSslCertificate::fromPath(parser.value(certOption));
        QFile keyFile(parser.value(keyOption));
        if (chain.isEmpty() || !keyFile.open(QIODevice::ReadOnly)) {
            std::fprintf(stderr, "echoserver: cannot read --cert/--key\n");
            return 2;
        }
        QSslKey key(&keyFile, QSsl::Rsa);
        if (key.isNull()) {
            keyFile.seek(0);
            key = QSslKey(&keyFile, QSsl::Ec);
        }
        configuration.setLocalCertificateChain(chain);
        configuration.setPrivateKey(key);
        server.setSslConfiguration(configuration);
    }

    // One connection per signal for all sockets (the server-level signals), not three per socket: an
    // idle connection then costs the engine and its WebSocket only. --per-socket-connects wires each
    // socket the QWebSocketServer way instead (the benchmarks measure both).
    if (parser.isSet(perSocketOption)) {
        QObject::connect(&server, &qws::WebSocketServer::newConnection, &server, [&server] {
            while (qws::WebSocket *socket = server.nextPendingConnection()) {
                QObject::connect(socket, &qws::WebSocket::textMessageReceived, socket,
                                 [socket](const QString &message) { socket->sendTextMessage(message); });
                QObject::connect(socket, &qws::WebSocket::binaryMessageReceived, socket,
                                 [socket](const QByteArray &message) { socket->sendBinaryMessage(message); });
                QObject::connect(socket, &qws::WebSocket::disconnected, socket, &QObject::deleteLater);
            }
        });
    } else {
        QObject::connect(&server, &qws::WebSocketServer::newConnection, &server, [&server] {
            while (server.nextPendingConnection()) {
                // taken: from now on its messages reach the server-level signals below
            }
        });
        QObject::connect(&server, &qws::WebSocketServer::textMessageReceived, &server,
                         [](qws::WebSocket *socket, const QString &message) { socket->sendTextMessage(message); });
        QObject::connect(&server, &qws::WebSocketServer::binaryMessageReceived, &server,
                         [](qws::WebSocket *socket, const QByteArray &message) { socket->sendBinaryMessage(message); });
        QObject::connect(&server, &qws::WebSocketServer::socketDisconnected, &server,
                         [](qws::WebSocket *socket) { socket->deleteLater(); });
    }

    // --engine-echo: every message is answered where it was read, with no hand-off to this thread
    // (the slots above then see none). The handler runs on all engine threads at once; this one
    // touches nothing but its message.
    if (parser.isSet(engineOption)) {
        server.setEngineMessageHandler([](qws::EngineMessage &message) {
            return message.isText() ? message.sendText(message.payload()) : message.sendBinary(message.toByteArray());
        });
    }

    if (!server.listen(QHostAddress(parser.value(hostOption)), quint16(parser.value(portOption).toUInt()))) {
        std::fprintf(stderr, "echoserver: %s\n", qPrintable(server.errorString()));
        return 1;
    }
    std::printf("%s\n", server.serverUrl().toString().toUtf8().constData());
    std::fflush(stdout);
    return app.exec();
}
