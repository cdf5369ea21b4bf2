// SPDX-License-Identifier: BSD-3-Clause
// MessageRings: bounded per-connection message logs off the JavaScript heap (see messagerings.h).
#include "messagerings.h"

#include <QtCore/QDateTime>

#include <algorithm>
#include <iterator>

void MessageRings::setCapacity(int capacity)
{
    capacity = std::max(1, capacity);
    if (capacity == m_capacity)
        return;
    m_capacity = capacity;
    for (Ring &ring : m_rings)
        trim(ring, std::size_t(capacity), ++m_serial);
    emit capacityChanged();
}

void MessageRings::setBinaryKeep(int bytes)
{
    bytes = std::max(0, bytes);
    if (bytes == m_binaryKeep)
        return;
    m_binaryKeep = bytes;
    emit binaryKeepChanged();
}

// Keeps the newest `capacity` entries, oldest first from index 0 (so a ring below its capacity can grow again).
void MessageRings::trim(Ring &ring, std::size_t capacity, double version)
{
    auto &entries = ring.entries;
    std::rotate(entries.begin(), entries.begin() + std::ptrdiff_t(ring.head), entries.end());
    ring.head = 0;
    if (entries.size() > capacity) {
        const std::size_t excess = entries.size() - capacity;
        entries.erase(entries.begin(), entries.begin() + std::ptrdiff_t(excess));
        ring.dropped += qint64(excess);
    }
    ring.version = version;
}

quint8 MessageRings::nameIndex(const QString &name)
{
    const qsizetype i = m_names.indexOf(name);
    if (i >= 0)
        return quint8(i);
    if (m_names.size() == 255)   // a script inventing names: the last slot stands for all the rest
        return 254;
    m_names.append(name);
    return quint8(m_names.size() - 1);
}

void MessageRings::record(double cid, const QString &direction, const QString &opcode, const QVariant &payload,
                          int size)
{
    Ring &ring = m_rings[qint64(cid)];
    Entry entry;
    entry.timeMs = QDateTime::currentMSecsSinceEpoch();
    entry.direction = nameIndex(direction);
    entry.opcode = nameIndex(opcode);
    entry.size = size;
    if (payload.metaType().id() == QMetaType::QByteArray) {
        entry.binary = true;
        entry.bytes = payload.toByteArray();   // shared with the variant's
        if (entry.bytes.size() > m_binaryKeep)
            entry.bytes.truncate(m_binaryKeep);
    } else {
        entry.text = payload.toString();       // shared with the QString the message arrived in
    }
    const std::size_t capacity = std::size_t(m_capacity);
    if (ring.entries.size() < capacity && ring.head == 0) {
        ring.entries.push_back(std::move(entry));
    } else {
        ring.entries[ring.head] = std::move(entry);   // full: overwrite the oldest
        ring.head = (ring.head + 1) % ring.entries.size();
        ring.dropped += 1;
    }
    ring.version = ++m_serial;
}

QVariantMap MessageRings::log(double cid)
{
    QVariantList items;
    qint64 dropped = 0;
    const auto found = m_rings.find(qint64(cid));
    if (found != m_rings.end()) {
        Ring &ring = *found;
        dropped = ring.dropped;
        items.reserve(qsizetype(ring.entries.size()));
        for (std::size_t k = 0; k < ring.entries.size(); ++k) {
            Entry &e = ring.at(k);
            if (e.size < 0 && !e.binary)
                e.size = e.text.toUtf8().size();   // measured once, when first shown
            QVariantMap item{{QStringLiteral("time"), double(e.timeMs)},
                             {QStringLiteral("direction"), m_names.value(e.direction)},
                             {QStringLiteral("opcode"), m_names.value(e.opcode)},
                             {QStringLiteral("size"), double(e.size)},
                             {QStringLiteral("text"), e.binary ? QString() : e.text},
                             {QStringLiteral("hex"), e.binary ? QString::fromLatin1(e.bytes.left(64).toHex(' ')) : QString()}};
            if (e.binary)
                item.insert(QStringLiteral("bytes"), e.bytes);
            items.append(std::move(item));
        }
    }
    return {{QStringLiteral("items"), items}, {QStringLiteral("dropped"), double(dropped)}};
}

double MessageRings::version(double cid) const
{
    const auto found = m_rings.constFind(qint64(cid));
    return found == m_rings.cend() ? 0 : found->version;
}

void MessageRings::clear(double cid)
{
    Ring &ring = m_rings[qint64(cid)];
    ring = Ring();
    ring.version = ++m_serial;
}

void MessageRings::remove(double cid)
{
    m_rings.remove(qint64(cid));
}

int MessageRings::count(double cid) const
{
    const auto found = m_rings.constFind(qint64(cid));
    return found == m_rings.cend() ? 0 : int(found->entries.size());
}
