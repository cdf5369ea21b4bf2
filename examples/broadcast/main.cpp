// SPDX-License-Identifier: BSD-3-Clause
// The broadcast example: one public port for a kiosk page and its live WebSocket feed.
//   qws-broadcast [--port N] [--host A] [--interval ms]
//   port default 8081 (0: any free one), host default every address, interval 100 ms
// A QTcpServer owns the port. For each connection it peeks (never reads) until the end of the
// request head: a WebSocket upgrade goes, bytes untouched, to the WebSocketServer element declared
// in Main.qml (handleConnection); GET / is answered with page.html; anything else gets 404.
// Every --interval ms a QTimer calls Main.qml's tick(), which broadcasts the value.
// Prints "http://localhost:<port>/" once ready; runs headless.
#include <QtCore/QCommandLineParser>
#include <QtCore/QFile>
#include <QtCore/QPointer>
#include <QtCore/QUrl>
#include <QtCore/QTextStream>
#include <QtCore/QTimer>
#include <QtGui/QGuiApplication>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>
#include <QtQml/QQmlApplicationEngine>

#include "headless.h"
#include "qmlwebsocketserver.h"

namespace {

constexpr qint64 maxHeadSize = 16 * 1024;
constexpr int headTimeoutMs = 10000;

void respond(QTcpSocket *socket, const QByteArray &status, const QByteArray &type, const QByteArray &body)
{
    QByteArray head = "HTTP/1.1 " + status + "\r\nContent-Type: " + type
            + "\r\nContent-Length: " + QByteArray::number(body.size())
            + "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";
    socket->disconnect(); // no more routing
    QObject::connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
    socket->write(head + body);
    socket->disconnectFromHost(); // after the bytes are written
}

/// Routes one accepted connection once its request head is buffered.
void route(QTcpSocket *socket, qws::QmlWebSocketServer *server, const QByteArray &page)
{
    const QByteArray buffered = socket->peek(maxHeadSize + 1);
    const qsizetype end = buffered.indexOf("\r\n\r\n");
    if (end < 0) {
        if (buffered.size() > maxHeadSize)
            respond(socket, "431 Request Header Fields Too Large", "text/plain", "request head too large\n");
        return; // wait for more
    }
    const QList<QByteArray> lines = buffered.left(end).split('\n');
    const QList<QByteArray> request = lines.value(0).trimmed().split(' ');
    bool upgrade = false;
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines.at(i).trimmed();
        const qsizetype colon = line.indexOf(':');
        if (colon > 0 && line.left(colon).trimmed().compare("upgrade", Qt::CaseInsensitive) == 0
            && line.mid(colon + 1).toLower().contains("websocket"))
            upgrade = true;
    }
    if (upgrade) {
        socket->disconnect(); // ours no longer: the element takes the socket with its buffered bytes
        server->handleConnection(socket);
        return;
    }
    const QByteArray method = request.value(0);
    const QByteArray path = request.value(1);
    if (method != "GET" && method != "HEAD")
        respond(socket, "405 Method Not Allowed", "text/plain", "only GET\n");
    else if (path == "/" || path == "/index.html")
        respond(socket, "200 OK", "text/html; charset=utf-8", method == "HEAD" ? QByteArray() : page);
    else
        respond(socket, "404 Not Found", "text/plain", "not found\n");
}

} // namespace

int main(int argc, char *argv[])
{
    qws::examples::defaultToOffscreen();
    QGuiApplication app(argc, argv);

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
            "Pushes a live value to every WebSocket client and serves a page that shows it, on one port."));
    parser.addHelpOption();
    const QCommandLineOption portOption(QStringLiteral("port"),
                                        QStringLiteral("TCP port (0: any free one; default 8081)."),
                                        QStringLiteral("port"), QStringLiteral("8081"));
    const QCommandLineOption intervalOption(QStringLiteral("interval"),
                                            QStringLiteral("Milliseconds between values (default 100)."),
                                            QStringLiteral("ms"), QStringLiteral("100"));
    const QCommandLineOption hostOption(QStringLiteral("host"),
                                        QStringLiteral("Address to listen on (default: every address)."),
                                        QStringLiteral("address"));
    parser.addOption(portOption);
    parser.addOption(hostOption);
    parser.addOption(intervalOption);
    parser.process(app);
    bool portOk = false;
    bool intervalOk = false;
    const int port = parser.value(portOption).toInt(&portOk);
    const int interval = parser.value(intervalOption).toInt(&intervalOk);
    if (!portOk || port < 0 || port > 65535 || !intervalOk || interval < 1) {
        QTextStream(stderr) << "qws-broadcast: --port must be 0-65535 and --interval at least 1" << Qt::endl;
        return 2;
    }

    QFile pageFile(QStringLiteral(":/broadcast/page.html"));
    if (!pageFile.open(QIODevice::ReadOnly))
        return 1;
    const QByteArray page = pageFile.readAll();

    QQmlApplicationEngine engine;
    engine.addImportPath(QStringLiteral(QWS_IMPORT_DIR));
    engine.load(QUrl(QStringLiteral("qrc:/broadcast/Main.qml")));
    if (engine.rootObjects().isEmpty())
        return 1;
    QPointer<qws::QmlWebSocketServer> server =
            qobject_cast<qws::QmlWebSocketServer *>(engine.rootObjects().constFirst());
    if (!server) {
        QTextStream(stderr) << "qws-broadcast: Main.qml's root is not a WebSocketServer" << Qt::endl;
        return 1;
    }

    QHostAddress address(QHostAddress::Any);
    if (parser.isSet(hostOption) && !address.setAddress(parser.value(hostOption))) {
        QTextStream(stderr) << "qws-broadcast: --host must be an IP address" << Qt::endl;
        return 2;
    }
    QTcpServer http;
    if (!http.listen(address, quint16(port))) {
        QTextStream(stderr) << "qws-broadcast: cannot listen on port " << port << ": "
                            << http.errorString() << Qt::endl;
        return 1;
    }
    QObject::connect(&http, &QTcpServer::newConnection, &http, [&http, server, &page] {
        while (QTcpSocket *socket = http.nextPendingConnection()) {
            // A client that never finishes its request head is dropped.
            auto *deadline = new QTimer(socket);
            deadline->setSingleShot(true);
            QObject::connect(deadline, &QTimer::timeout, socket, [socket] { socket->abort(); });
            deadline->start(headTimeoutMs);
            QObject::connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
            QObject::connect(socket, &QTcpSocket::readyRead, socket, [socket, server, &page] {
                if (server)
                    route(socket, server, page);
            });
        }
    });
    // The live value: Main.qml's tick() builds it and broadcasts it to every client.
    QTimer ticker;
    QObject::connect(&ticker, &QTimer::timeout, server, [server] {
        QMetaObject::invokeMethod(server, "tick");
    });
    ticker.start(interval);

    QUrl url;
    url.setScheme(QStringLiteral("http"));
    url.setHost(parser.isSet(hostOption) ? address.toString() : QStringLiteral("localhost"));
    url.setPort(http.serverPort());
    url.setPath(QStringLiteral("/"));
    QTextStream(stdout) << url.toString() << Qt::endl;
    return app.exec();
}
