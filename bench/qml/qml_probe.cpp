// SPDX-License-Identifier: BSD-3-Clause
// qws_qml_probe: the QML path under load (issue 7). Loads HandlerProbe.qml (a WebSocketServer whose JavaScript
// handlers count every message) or WindowProbe.qml (the same inside a window with a ConnectionList and a spinning
// square), prints "LISTENING <port>", then one JSON sample line every --sample-ms:
//   {"t_ns":<CLOCK_MONOTONIC>,"received":<messages counted in JS>,"conns":<open>,"cpu_s":<process utime+stime>,
//    "gui_cpu_s":<GUI thread CPU time>}
// bench/run.py (--only qml) runs qws_load against it and turns the samples into messages/s and per CPU-second.
//   qws_qml_probe [--mode handler|window] [--port N] [--sample-ms MS] [--frame-stats FILE]
#include "framestats.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QTextStream>
#include <QtCore/QTimer>
#include <QtGui/QGuiApplication>
#include <QtQml/QQmlApplicationEngine>
#include <QtQuick/QQuickWindow>

#include <sys/resource.h>
#include <ctime>

namespace {

double seconds(const timeval &tv)
{
    return double(tv.tv_sec) + double(tv.tv_usec) / 1e6;
}

double processCpuSeconds()
{
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return seconds(ru.ru_utime) + seconds(ru.ru_stime);
}

double threadCpuSeconds() // of the calling thread: the sampler's timer runs on the GUI thread
{
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

qint64 monotonicNs()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return qint64(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int fail(const QString &text, int code)
{
    QTextStream(stderr) << "qws_qml_probe: " << text << Qt::endl;
    return code;
}

} // namespace

int main(int argc, char *argv[])
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen"); // a benchmark: no display needed
    QGuiApplication app(argc, argv);

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Counts messages delivered into QML handlers; times frames."));
    parser.addHelpOption();
    const QCommandLineOption modeOption(QStringLiteral("mode"), QStringLiteral("handler (no window) or window."),
                                        QStringLiteral("mode"), QStringLiteral("handler"));
    const QCommandLineOption portOption(QStringLiteral("port"), QStringLiteral("TCP port (0: any free one)."),
                                        QStringLiteral("port"), QStringLiteral("0"));
    const QCommandLineOption sampleOption(QStringLiteral("sample-ms"), QStringLiteral("Sample period (ms)."),
                                          QStringLiteral("ms"), QStringLiteral("250"));
    const QCommandLineOption framesOption(QStringLiteral("frame-stats"),
                                          QStringLiteral("Window mode: write frame timestamps (ns) to this file."),
                                          QStringLiteral("file"));
    parser.addOptions({modeOption, portOption, sampleOption, framesOption});
    parser.process(app);

    const QString mode = parser.value(modeOption);
    if (mode != QLatin1String("handler") && mode != QLatin1String("window"))
        return fail(QStringLiteral("--mode must be handler or window, not \"%1\"").arg(mode), 2);
    bool ok = false;
    const int port = parser.value(portOption).toInt(&ok);
    if (!ok || port < 0 || port > 65535)
        return fail(QStringLiteral("the port must be 0-65535"), 2);
    const int sampleMs = parser.value(sampleOption).toInt(&ok);
    if (!ok || sampleMs < 10)
        return fail(QStringLiteral("--sample-ms must be at least 10"), 2);
    if (parser.isSet(framesOption) && mode != QLatin1String("window"))
        return fail(QStringLiteral("--frame-stats needs --mode window"), 2);

    QQmlApplicationEngine engine;
    engine.addImportPath(QStringLiteral(QWS_IMPORT_DIR));
    engine.setInitialProperties({{QStringLiteral("port"), port}});
    const bool window = mode == QLatin1String("window");
    engine.load(QUrl(window ? QStringLiteral("qrc:/probe/WindowProbe.qml")
                            : QStringLiteral("qrc:/probe/HandlerProbe.qml")));
    if (engine.rootObjects().isEmpty())
        return fail(QStringLiteral("the QML did not load"), 1);
    QObject *root = engine.rootObjects().constFirst();
    QObject *server = window ? root->property("server").value<QObject *>() : root;
    if (!server || !server->property("listening").toBool())
        return fail(QStringLiteral("not listening: %1").arg(server ? server->property("errorString").toString()
                                                                     : QStringLiteral("no server")), 1);
    if (parser.isSet(framesOption)) {
        auto *quickWindow = qobject_cast<QQuickWindow *>(root);
        auto *stats = quickWindow ? new qws::examples::FrameStats(quickWindow, parser.value(framesOption)) : nullptr;
        if (!stats || !stats->ok())
            return fail(QStringLiteral("cannot record frames into %1").arg(parser.value(framesOption)), 1);
    }
    QTextStream out(stdout);
    out << "LISTENING " << server->property("url").toUrl().port() << Qt::endl;

    QTimer sampler;
    QObject::connect(&sampler, &QTimer::timeout, [&] {
        out << "{\"t_ns\":" << monotonicNs() << ",\"received\":" << qint64(root->property("received").toDouble())
            << ",\"conns\":" << server->property("connectionCount").toInt() << ",\"cpu_s\":"
            << QString::number(processCpuSeconds(), 'f', 4) << ",\"gui_cpu_s\":"
            << QString::number(threadCpuSeconds(), 'f', 4) << "}" << Qt::endl;
    });
    sampler.start(sampleMs);
    return app.exec();
}
