// SPDX-License-Identifier: BSD-3-Clause
// The echo example: loads Main.qml (a WebSocketServer), prints its URL on stdout, runs headless.
//   qws_echo [port]      port: the argument, else $QWS_ECHO_PORT, else 8080; 0 picks a free one
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
            QTextStream(stderr) << "qws_echo: " << error << Qt::endl;
        if (!listening && !error.isEmpty())
            QCoreApplication::exit(1);
    }

private:
    QObject *m_server;
    bool m_printed = false;
};

} // namespace

int main(int argc, char *argv[])
{
    // Headless by default: no display needed for a server.
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") && qEnvironmentVariableIsEmpty("DISPLAY")
        && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QGuiApplication app(argc, argv);

    QString portText = app.arguments().value(1, qEnvironmentVariable("QWS_ECHO_PORT"));
    if (portText.isEmpty())
        portText = QStringLiteral("8080");
    bool ok = false;
    const int port = portText.toInt(&ok);
    if (!ok || port < 0 || port > 65535) {
        QTextStream(stderr) << "usage: qws_echo [port 0-65535]  (got \"" << portText << "\")" << Qt::endl;
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
    reporter.update(); // listening may have started inside load()
    return app.exec();
}

#include "main.moc"
