// SPDX-License-Identifier: BSD-3-Clause
// Frame timing for the benchmarks (bench/run.py --only qml): records when each frame of a QQuickWindow was
// presented (frameSwapped, CLOCK_MONOTONIC nanoseconds, the clock of Python's time.monotonic()) and appends
// the timestamps to a file, one per line, every 250 ms (so a killed process loses at most 250 ms of them).
// The inspector turns it on with QWS_FRAME_STATS=<file>; bench/qml/qws_qml_probe with --frame-stats <file>.
// A window renders only when something changed, so fromEnvironment() also adds a 4-px square spinning forever
// in the bottom-right corner: a frame is then due at every tick of Qt Quick's animation driver (about 16 ms with
// no vsync, e.g. offscreen), and a late frame means the GUI thread was busy.
#pragma once

#include <QtCore/QFile>
#include <QtCore/QMutex>
#include <QtCore/QTextStream>
#include <QtCore/QTimer>
#include <QtQml/QQmlComponent>
#include <QtQml/QQmlEngine>
#include <QtQuick/QQuickItem>
#include <QtQuick/QQuickWindow>

#include <ctime>
#include <vector>

namespace qws::examples {

class FrameStats : public QObject
{
public:
    /// Starts recording `window`'s frames into `path` (truncated). Check ok() for the file's state.
    FrameStats(QQuickWindow *window, const QString &path) : QObject(window), m_file(path)
    {
        if (!m_file.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text))
            return;
        // frameSwapped comes from the render thread with the threaded render loop: record under a lock.
        connect(window, &QQuickWindow::frameSwapped, this, [this] {
            const QMutexLocker lock(&m_mutex);
            m_pending.push_back(nowNs());
        }, Qt::DirectConnection);
        connect(&m_timer, &QTimer::timeout, this, &FrameStats::flush);
        m_timer.start(250);
    }
    ~FrameStats() override { flush(); }

    bool ok() const { return m_file.isOpen(); }
    QString errorString() const { return m_file.errorString(); }

    /// Adds the spinning square to `window` (whose root must come from a QML engine); false if it cannot.
    static bool addPacer(QQuickWindow *window)
    {
        QQmlEngine *engine = qmlEngine(window);
        if (!engine)
            return false;
        QQmlComponent component(engine);
        component.setData("import QtQuick\n"
                          "Rectangle { width: 4; height: 4; color: \"#808080\"\n"
                          "  x: parent ? parent.width - 6 : 0; y: parent ? parent.height - 6 : 0\n"
                          "  RotationAnimation on rotation {\n"
                          "    from: 0; to: 360; duration: 1000; loops: Animation.Infinite } }",
                          QUrl());
        auto *item = qobject_cast<QQuickItem *>(component.create());
        if (!item)
            return false;
        item->setParent(window);
        item->setParentItem(window->contentItem());
        return true;
    }

    /// QWS_FRAME_STATS=<file> set: records `root`'s frames (root must be a window) and adds the pacer. Prints
    /// an error and returns false when the variable is set but cannot be honoured; true otherwise.
    static bool fromEnvironment(QObject *root)
    {
        const QString path = qEnvironmentVariable("QWS_FRAME_STATS");
        if (path.isEmpty())
            return true;
        auto *window = qobject_cast<QQuickWindow *>(root);
        if (!window) {
            QTextStream(stderr) << "QWS_FRAME_STATS: the root object is not a QQuickWindow" << Qt::endl;
            return false;
        }
        auto *stats = new FrameStats(window, path); // owned by the window
        if (!stats->ok()) {
            QTextStream(stderr) << "QWS_FRAME_STATS: cannot write " << path << ": " << stats->errorString()
                                << Qt::endl;
            delete stats;
            return false;
        }
        if (!addPacer(window)) {
            QTextStream(stderr) << "QWS_FRAME_STATS: cannot add the animated pacer item" << Qt::endl;
            return false;
        }
        return true;
    }

private:
    static qint64 nowNs()
    {
        timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return qint64(ts.tv_sec) * 1000000000 + ts.tv_nsec;
    }
    void flush()
    {
        std::vector<qint64> batch;
        {
            const QMutexLocker lock(&m_mutex);
            batch.swap(m_pending);
        }
        if (batch.empty() || !m_file.isOpen())
            return;
        QByteArray text;
        for (const qint64 t : batch)
            text += QByteArray::number(t) + '\n';
        m_file.write(text);
        m_file.flush();
    }

    QFile m_file;
    QMutex m_mutex;
    std::vector<qint64> m_pending;
    QTimer m_timer;
};

} // namespace qws::examples
