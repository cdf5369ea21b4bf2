// SPDX-License-Identifier: BSD-3-Clause
// The echo example: loads Main.qml (a WebSocketServer), prints its URL on stdout, runs headless.
//   qws-echo [--port N | N]   port: the option or argument, else $QWS_ECHO_PORT, else 8080;
//                             0 picks a free one
#include "headless.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QTextStream>
#include <QtGui/QGuiApplication>
#include <QtQml/QQmlApplicationEngine>

namespace {

/// Reports the server's state: the URL on stdout once listening, errors on stderr.
class Reporter : public QObject
{
    Q_OBJECT
public:
    explicit Reporter(QObject *server) : m_server(server) { }

public Q_SLOTS:
    void update()
    {
        const bool listening = m_server->property("listening").toBool();
        const QString error = m_server->property("errorString").toString();
        if (listening && !m_printed) {
            m_printed = true;
            QTextStream(stdout) << m_server->property("url").toUrl().toString() << Qt::endl;
        }
        if (!error.isEmpty())
            QTextStream(stderr) << "qws-echo: " << error << Qt::endl;
        if (!listening && !error.isEmpty())
            QCoreApplication::exit(1); // only once the event loop runs; main() checks before that
    }

private:
    QObject *m_server;
    bool m_printed = false;
};

} // namespace

int main(int argc, char *argv[])
{
    qws::examples::defaultToOffscreen(); // headless by default: no display needed for a server
    QGuiApplication app(argc, argv);

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("A WebSocket echo server declared in QML."));
    parser.addHelpOption();
    const QCommandLineOption portOption(QStringLiteral("port"),
                                        QStringLiteral("TCP port (0: any free one; default 8080)."),
                                        QStringLiteral("port"));
    parser.addOption(portOption);
    parser.addPositionalArgument(QStringLiteral("port"), QStringLiteral("Same as --port."), QStringLiteral("[port]"));
    parser.process(app);
    QString portText = parser.value(portOption);
    if (portText.isEmpty())
        portText = parser.positionalArguments().value(0, qEnvironmentVariable("QWS_ECHO_PORT"));
    if (portText.isEmpty())
        portText = QStringLiteral("8080");
    bool ok = false;
    const int port = portText.toInt(&ok);
    if (!ok || port < 0 || port > 65535) {
        QTextStream(stderr) << "qws-echo: the port must be 0-65535, not \"" << portText << "\"" << Qt::endl;
        return 2;
    }

    QQmlApplicationEngine engine;
    engine.addImportPath(QStringLiteral(QWS_IMPORT_DIR));
    engine.setInitialProperties({{QStringLiteral("port"), port}});
    engine.load(QUrl(QStringLiteral("qrc:/echo/Main.qml")));
    if (engine.rootObjects().isEmpty())
        return 1;

    QObject *server = engine.rootObjects().constFirst();
    Reporter reporter(server);
    QObject::connect(server, SIGNAL(listeningChanged()), &reporter, SLOT(update()));
    QObject::connect(server, SIGNAL(errorChanged()), &reporter, SLOT(update()));
    reporter.update(); // listening may have started, or failed, inside load()
    if (!server->property("listening").toBool() && !server->property("errorString").toString().isEmpty())
        return 1;
    return app.exec();
}

#include "main.moc"
