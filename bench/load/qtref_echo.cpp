// SPDX-License-Identifier: BSD-3-Clause
// qtref_echo: the reference — Qt's own QWebSocketServer echoing text and binary messages (bench only).
#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QFile>
#include <QtNetwork/QSslCertificate>
#include <QtNetwork/QSslConfiguration>
#include <QtNetwork/QSslKey>
#include <QtWebSockets/QWebSocket>
#include <QtWebSockets/QWebSocketServer>

#include <csignal>
#include <cstdio>
#include "fdlimit.h"

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription("QWebSocketServer echo (reference). Prints \"LISTENING <port>\" when ready.");
    parser.addHelpOption();
    QCommandLineOption portOpt("port", "TCP port on 127.0.0.1 (0: any).", "port", "0");
    QCommandLineOption tlsOpt("tls", "Secure mode (wss), with --cert and --key (PEM).");
    QCommandLineOption certOpt("cert", "PEM certificate.", "file");
    QCommandLineOption keyOpt("key", "PEM private key.", "file");
    parser.addOptions({portOpt, tlsOpt, certOpt, keyOpt});
    parser.process(app);

    qws::examples::raiseFileLimit();
    std::signal(SIGTERM, [](int) { QCoreApplication::quit(); }); // good enough for a bench server

    const bool tls = parser.isSet(tlsOpt);
    QWebSocketServer server(QStringLiteral("qtref_echo"),
                            tls ? QWebSocketServer::SecureMode : QWebSocketServer::NonSecureMode);
    if (tls) {
        QFile certFile(parser.value(certOpt)), keyFile(parser.value(keyOpt));
        if (!certFile.open(QIODevice::ReadOnly) || !keyFile.open(QIODevice::ReadOnly)) {
            std::fprintf(stderr, "qtref_echo: --tls needs readable --cert and --key\n");
            return 2;
        }
        QSslConfiguration conf = QSslConfiguration::defaultConfiguration();
        conf.setLocalCertificate(QSslCertificate(certFile.readAll(), QSsl::Pem));
        const QByteArray pem = keyFile.readAll();
        QSslKey key(pem, QSsl::Ec, QSsl::Pem); // run.py makes P-256 keys; RSA keys work too
        if (key.isNull())
            key = QSslKey(pem, QSsl::Rsa, QSsl::Pem);
        conf.setPrivateKey(key);
        conf.setPeerVerifyMode(QSslSocket::VerifyNone);
        server.setSslConfiguration(conf);
    }
    // Default pending-connection cap (30) would throttle the storm and idle workloads' accept bursts.
    server.setMaxPendingConnections(10000);
    QObject::connect(&server, &QWebSocketServer::newConnection, &server, [&server] {
        while (QWebSocket *s = server.nextPendingConnection()) {
            QObject::connect(s, &QWebSocket::textMessageReceived, s,
                             [s](const QString &m) { s->sendTextMessage(m); });
            QObject::connect(s, &QWebSocket::binaryMessageReceived, s,
                             [s](const QByteArray &m) { s->sendBinaryMessage(m); });
            QObject::connect(s, &QWebSocket::disconnected, s, &QObject::deleteLater);
        }
    });
    if (!server.listen(QHostAddress::LocalHost, quint16(parser.value(portOpt).toUInt()))) {
        std::fprintf(stderr, "qtref_echo: listen failed: %s\n", qPrintable(server.errorString()));
        return 1;
    }
    std::printf("LISTENING %u\n", unsigned(server.serverPort()));
    std::fflush(stdout);
    return app.exec();
}
