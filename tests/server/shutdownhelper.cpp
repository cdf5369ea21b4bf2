// SPDX-License-Identifier: BSD-3-Clause
// A child process for tst_shutdown: an application that queues many messages to its clients and then
// goes away at once, the way real applications end.
//   qws_shutdown_helper <quit|destroy> <clients> <messages> <bytes>
// Prints "port <n>" on stdout, waits for <clients> connections, sends each <messages> text messages
// "<seq>:" padded with '.' to <bytes>, prints "queued", then either quits its QCoreApplication (the server, owned by main(),
// is destroyed after exec() returns, its sockets with it) or deletes the server from the next event and
// quits 200 ms later. Exit code 0 on a normal end; 2 for bad arguments, 3 if listen() failed.
#include <websocket.h>
#include <websocketserver.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QTimer>

#include <cstdio>
#include <memory>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() != 5 || (args[1] != QLatin1String("quit") && args[1] != QLatin1String("destroy"))) {
        std::fprintf(stderr, "usage: %s <quit|destroy> <clients> <messages> <bytes>\n", argv[0]);
        return 2;
    }
    const bool quit = args[1] == QLatin1String("quit");
    const int clients = args[2].toInt();
    const int messages = args[3].toInt();
    const int bytes = args[4].toInt();

    auto server = std::make_unique<qws::WebSocketServer>(QStringLiteral("shutdown-helper"),
                                                         qws::WebSocketServer::NonSecureMode);
    QList<qws::WebSocket *> sockets;
    QObject::connect(server.get(), &qws::WebSocketServer::newConnection, server.get(), [&] {
        while (qws::WebSocket *socket = server->nextPendingConnection()) {
            socket->setParent(server.get());   // the usual ownership: the sockets go with the server
            sockets.append(socket);
        }
        if (sockets.size() < clients)
            return;
        for (int i = 0; i < messages; ++i) {
            QString text = QString::number(i) + QLatin1Char(':');
            text += QString(qMax(0, bytes - int(text.size())), QLatin1Char('.'));
            for (qws::WebSocket *socket : std::as_const(sockets))
                socket->sendTextMessage(text);
        }
        // Everything is queued, most of it not yet written (the clients wait for this line before they
        // read): go away now.
        std::printf("queued\n");
        std::fflush(stdout);
        if (quit) {
            QCoreApplication::quit();
        } else {
            // Not inside the server's own signal: from the next event, before the engine caught up.
            QTimer::singleShot(0, &app, [&] {
                sockets.clear();
                server.reset();
                QTimer::singleShot(200, &app, &QCoreApplication::quit);
            });
        }
    });
    if (!server->listen(QHostAddress::LocalHost)) {
        std::fprintf(stderr, "listen: %s\n", qPrintable(server->errorString()));
        return 3;
    }
    std::printf("port %u\n", unsigned(server->serverPort()));
    std::fflush(stdout);
    const int code = app.exec();
    server.reset();   // quit mode: the application's end destroys the server with its messages queued
    return code;
}
