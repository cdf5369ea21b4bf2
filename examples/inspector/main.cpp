// SPDX-License-Identifier: BSD-3-Clause
// The inspector: runs a WebSocketServer (Main.qml) and shows its connections; without a display it explains
// how to run headless and still serves.  qws-inspector [--port N] [--secure] [--cert F --key F] [--echo]
// QWS_FRAME_STATS=<file> records the window's frame times for the benchmarks (framestats.h).
#include "fileio.h"
#include "framestats.h"
#include "headless.h"
#include "messagerings.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QTextStream>
#include <QtGui/QGuiApplication>
#include <QtQml/QQmlApplicationEngine>

int main(int argc, char *argv[])
{
    if (qws::examples::defaultToOffscreen()) {
        QTextStream(stderr)
            << "qws-inspector: no display found; running offscreen (the server still runs).\n"
               "  To see the window headless:  xvfb-run -a qws-inspector ...\n"
               "  To run it without a window:  QT_QPA_PLATFORM=offscreen qws-inspector ..." << Qt::endl;
    }
    // Fusion follows the system palette (light or dark); QT_QUICK_CONTROLS_STYLE overrides it.
    if (qEnvironmentVariableIsEmpty("QT_QUICK_CONTROLS_STYLE"))
        qputenv("QT_QUICK_CONTROLS_STYLE", "Fusion");
    QGuiApplication app(argc, argv);
    QGuiApplication::setApplicationName(QStringLiteral("QuickWebSockets Inspector"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Run a WebSocket server and inspect its live connections."));
    parser.addHelpOption();
    const QCommandLineOption portOption(QStringLiteral("port"), QStringLiteral("TCP port (0: any; default 8080)."),
                                        QStringLiteral("port"), QStringLiteral("8080"));
    const QCommandLineOption secureOption(QStringLiteral("secure"),
                                          QStringLiteral("wss:// (a self-signed certificate unless --cert/--key)."));
    const QCommandLineOption certOption(QStringLiteral("cert"), QStringLiteral("PEM certificate file."),
                                        QStringLiteral("file"));
    const QCommandLineOption keyOption(QStringLiteral("key"), QStringLiteral("PEM private key file."),
                                       QStringLiteral("file"));
    const QCommandLineOption echoOption(QStringLiteral("echo"), QStringLiteral("Start with auto-reply: echo."));
    parser.addOptions({portOption, secureOption, certOption, keyOption, echoOption});
    parser.process(app);

    bool ok = false;
    const int port = parser.value(portOption).toInt(&ok);
    if (!ok || port < 0 || port > 65535) {
        QTextStream(stderr) << "qws-inspector: the port must be 0-65535" << Qt::endl;
        return 2;
    }
    registerInspectorTypes();
    FileIO fileIO;
    QQmlApplicationEngine engine;
    engine.addImportPath(QStringLiteral(QWS_IMPORT_DIR));
    engine.setInitialProperties({
        {QStringLiteral("initialPort"), port},
        {QStringLiteral("initialSecure"), parser.isSet(secureOption) || parser.isSet(certOption)},
        {QStringLiteral("certificatePath"), parser.value(certOption)},
        {QStringLiteral("keyPath"), parser.value(keyOption)},
        {QStringLiteral("initialAutoReply"), parser.isSet(echoOption) ? QStringLiteral("echo") : QStringLiteral("none")},
        {QStringLiteral("fileIO"), QVariant::fromValue<QObject *>(&fileIO)},
    });
    engine.load(QUrl(QStringLiteral("qrc:/inspector/Main.qml")));
    if (engine.rootObjects().isEmpty())
        return 1;
    QObject *root = engine.rootObjects().constFirst();
    if (!qws::examples::FrameStats::fromEnvironment(root))
        return 1;
    // Main.qml logs later URL changes (restarts) itself.
    const QString url = root->property("serverUrl").toString();
    if (!url.isEmpty())
        QTextStream(stdout) << "qws-inspector: listening on " << url << Qt::endl;
    const QObject *server = root->property("server").value<QObject *>();
    const QString fingerprint = server ? server->property("certificateFingerprint").toString() : QString();
    if (!fingerprint.isEmpty())
        QTextStream(stdout) << "qws-inspector: certificate SHA-256 " << fingerprint << Qt::endl;
    const QString error = server ? server->property("errorString").toString() : QString();
    if (!error.isEmpty())
        QTextStream(stderr) << "qws-inspector: " << error << Qt::endl;
    return app.exec();
}
