// SPDX-License-Identifier: BSD-3-Clause
// FileIO: the inspector's tiny file helper for QML (export a log as JSON Lines, read it back in tests).
#pragma once
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QObject>
#include <QtCore/QUrl>

class FileIO : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;

    /// Writes `text` (UTF-8) to `path` (a path or file URL), replacing it; "" on success, else the error.
    Q_INVOKABLE QString writeText(const QString &path, const QString &text)
    {
        QFile file(localPath(path));
        if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text))
            return file.errorString();
        if (file.write(text.toUtf8()) < 0)
            return file.errorString();
        return QString();
    }
    /// The UTF-8 text of `path`, or "" if it cannot be read.
    Q_INVOKABLE QString readText(const QString &path)
    {
        QFile file(localPath(path));
        if (!file.open(QIODevice::ReadOnly))
            return QString();
        return QString::fromUtf8(file.readAll());
    }
    /// A writable default location for exports.
    Q_INVOKABLE QString tempPath(const QString &name) { return QDir::temp().filePath(name); }

private:
    static QString localPath(const QString &path)
    {
        const QUrl url(path);
        return url.isLocalFile() ? url.toLocalFile() : path;
    }
};
