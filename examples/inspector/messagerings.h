// SPDX-License-Identifier: BSD-3-Clause
// MessageRings: the inspector's per-connection message logs, kept in C++ rings instead of JavaScript arrays.
//
// Why C++: at 1,000 clients echoing 20 messages/s each, JavaScript rings held up to 500,000 payload strings on
// the QML engine's heap. Its garbage collector marks and sweeps every live object at once on the GUI thread,
// so its pauses grew with the logs (30 ms after 10 s) and the window skipped frames. Here an entry is a plain
// struct that shares the payload's QString/QByteArray (no copy), and nothing of it is on the JavaScript heap
// until log() builds the entries of the one connection on screen. (From JavaScript a string arrives shared; an
// ArrayBuffer is copied whole on its way to C++, so the Store cuts it to binaryKeep before calling record().)
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QHash>
#include <QtCore/QObject>
#include <QtCore/QString>
#include <QtCore/QStringList>
#include <QtCore/QVariant>
#include <QtQml/qqml.h>

#include <vector>

class MessageRings : public QObject
{
    Q_OBJECT
    /// Messages kept per connection (at least 1; default 500). Lowering it drops the oldest at once, counted
    /// as dropped.
    Q_PROPERTY(int capacity READ capacity WRITE setCapacity NOTIFY capacityChanged)
    /// Bytes of a binary payload kept for the hex view and export (default 4096); the size stays the full one.
    Q_PROPERTY(int binaryKeep READ binaryKeep WRITE setBinaryKeep NOTIFY binaryKeepChanged)

public:
    using QObject::QObject;

    int capacity() const { return m_capacity; }
    void setCapacity(int capacity);
    int binaryKeep() const { return m_binaryKeep; }
    void setBinaryKeep(int bytes);

    /// Appends to connection `cid`'s ring. direction "in"/"out"; opcode "text", "binary", "ping", "pong",
    /// "close", "kick"…; payload a string (text) or an ArrayBuffer (binary); size the payload's bytes, or -1
    /// for "the text's UTF-8 length", measured only when the entry is shown or exported.
    Q_INVOKABLE void record(double cid, const QString &direction, const QString &opcode, const QVariant &payload,
                            int size);
    /// `cid`'s log, oldest first: {items: [{time, direction, opcode, size, text, hex[, bytes]}], dropped}.
    /// `time` is ms since the epoch; a binary entry has `bytes` (an ArrayBuffer of the kept bytes) and `hex`
    /// (its first 64 bytes as "de ad be ef"); a text entry has `text` and an empty `hex`.
    Q_INVOKABLE QVariantMap log(double cid);
    /// Bumps with every change to `cid`'s ring (a cache key for log()); 0 for a connection never recorded.
    Q_INVOKABLE double version(double cid) const;
    /// Empties `cid`'s ring and resets its dropped count.
    Q_INVOKABLE void clear(double cid);
    /// Forgets `cid` (a pruned connection).
    Q_INVOKABLE void remove(double cid);
    /// Entries kept for `cid`.
    Q_INVOKABLE int count(double cid) const;

Q_SIGNALS:
    void capacityChanged();
    void binaryKeepChanged();

private:
    struct Entry {
        qint64 timeMs = 0;
        qint64 size = 0;
        quint8 direction = 0;   // index into m_names
        quint8 opcode = 0;      // index into m_names
        bool binary = false;
        QString text;
        QByteArray bytes;
    };
    struct Ring {
        std::vector<Entry> entries;   // grows to the capacity, then overwritten from `head`
        std::size_t head = 0;         // oldest entry once full
        qint64 dropped = 0;
        double version = 0;   // m_serial at the last change
        Entry &at(std::size_t k) { return entries[(head + k) % entries.size()]; }
    };

    quint8 nameIndex(const QString &name);
    static void trim(Ring &ring, std::size_t capacity, double version);

    QHash<qint64, Ring> m_rings;
    QStringList m_names;   // directions and opcodes seen, so an entry stores two bytes, not two strings
    double m_serial = 0;   // versions come from one counter, so a removed and re-recorded cid never repeats one
    int m_capacity = 500;
    int m_binaryKeep = 4096;
};

/// Makes `import QwsInspector` (MessageRings) available; the app and its Qt Quick Test call it before loading QML.
inline void registerInspectorTypes()
{
    qmlRegisterType<MessageRings>("QwsInspector", 1, 0, "MessageRings");
}
