// SPDX-License-Identifier: BSD-3-Clause
// UTF-16 → UTF-8 (utf16.h): byte for byte what QString::toUtf8() writes, at every length around the
// 8-unit ASCII blocks, with unpaired surrogates as '?', and always valid UTF-8. UTF-8 → UTF-16: what
// QString::fromUtf8() makes of valid input, and never a write past utf16Size() for invalid input.
#include "chunks.h"

#include <protocol/utf16.h>
#include <protocol/utf8.h>

#include <QString>
#include <QTest>

#include <random>
#include <string>

using namespace qws::protocol;

namespace {

QByteArray encoded(const QString &text)
{
    const std::u16string_view units(reinterpret_cast<const char16_t *>(text.utf16()), std::size_t(text.size()));
    const std::size_t size = utf8Size(units);
    // One guard byte past the announced size: writeUtf8() must stop exactly at size.
    QByteArray out(qsizetype(size) + 1, '\xA5');
    char *end = writeUtf8(units, out.data());
    if (end != out.data() + size)
        return QByteArrayLiteral("<wrong end>");
    if (out.back() != '\xA5')
        return QByteArrayLiteral("<wrote past the size>");
    out.chop(1);
    return out;
}

QString fromUnits(std::initializer_list<char16_t> units)
{
    QString s;
    for (char16_t u : units)
        s.append(QChar(u));
    return s;
}

} // namespace

class tst_Utf16 : public QObject
{
    Q_OBJECT

private slots:
    void matchesQString_data();
    void matchesQString();
    void asciiAtEveryLengthAndOffset();
    void randomTextMatchesQString();
    void decodeMatchesQString_data();
    void decodeMatchesQString();
    void decodeRandomValidText();
    void decodeInvalidInputStaysInBounds();
};

void tst_Utf16::matchesQString_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QByteArray>("expected");
    QTest::newRow("empty") << QString() << QByteArray();
    QTest::newRow("ASCII") << QStringLiteral("hello, world") << QByteArray("hello, world");
    QTest::newRow("2-byte: é") << fromUnits({0xE9}) << QByteArray("\xC3\xA9");
    QTest::newRow("2-byte max U+07FF") << fromUnits({0x07FF}) << QByteArray("\xDF\xBF");
    QTest::newRow("3-byte min U+0800") << fromUnits({0x0800}) << QByteArray("\xE0\xA0\x80");
    QTest::newRow("3-byte: €") << fromUnits({0x20AC}) << QByteArray("\xE2\x82\xAC");
    QTest::newRow("3-byte max U+FFFF") << fromUnits({0xFFFF}) << QByteArray("\xEF\xBF\xBF");
    QTest::newRow("pair: U+1F600") << fromUnits({0xD83D, 0xDE00}) << QByteArray("\xF0\x9F\x98\x80");
    QTest::newRow("pair: U+10FFFF") << fromUnits({0xDBFF, 0xDFFF}) << QByteArray("\xF4\x8F\xBF\xBF");
    QTest::newRow("lone high surrogate → ?") << fromUnits({'a', 0xD800, 'b'}) << QByteArray("a?b");
    QTest::newRow("lone low surrogate → ?") << fromUnits({'a', 0xDC00, 'b'}) << QByteArray("a?b");
    QTest::newRow("high surrogate at the end → ?") << fromUnits({'a', 0xD83D}) << QByteArray("a?");
    QTest::newRow("reversed pair → ??") << fromUnits({0xDE00, 0xD83D}) << QByteArray("??");
    QTest::newRow("ASCII block then é") << QStringLiteral("12345678") + QChar(0xE9)
                                        << QByteArray("12345678\xC3\xA9");
    QTest::newRow("é inside an 8-unit block") << QStringLiteral("abc") + QChar(0xE9) + QStringLiteral("defghijk")
                                              << QByteArray("abc\xC3\xA9" "defghijk");
    QTest::newRow("pair split across blocks") << QStringLiteral("1234567") + fromUnits({0xD83D, 0xDE00})
                                                         + QStringLiteral("89")
                                              << QByteArray("1234567\xF0\x9F\x98\x80" "89");
}

void tst_Utf16::matchesQString()
{
    QFETCH(QString, text);
    QFETCH(QByteArray, expected);
    QCOMPARE(encoded(text), expected);
    QCOMPARE(encoded(text), text.toUtf8());
}

void tst_Utf16::asciiAtEveryLengthAndOffset()
{
    // Every length 0–40 at every start offset 0–7 in a larger string, so the 8-unit blocks meet both
    // the start and the end at every alignment.
    const QString all = QStringLiteral("The quick brown fox jumps over the lazy dog 0123456789");
    for (int offset = 0; offset < 8; ++offset) {
        for (int length = 0; length <= 40; ++length) {
            const QString text = all.mid(offset, length);
            QCOMPARE(encoded(text), text.toUtf8());
        }
    }
}

void tst_Utf16::randomTextMatchesQString()
{
    // Mostly ASCII with every other kind mixed in, surrogates paired and not: what toUtf8() writes,
    // and valid UTF-8 every time.
    std::mt19937 random(20261203);
    const char16_t pool[] = {'a', 'Z', ' ', '~', 0x7F, 0x80, 0xE9, 0x7FF, 0x800, 0x4E2D, 0xFFFD, 0xFFFF,
                             0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xD83D, 0xDE00};
    for (int round = 0; round < 2000; ++round) {
        QString text;
        const int length = int(random() % 80);
        for (int i = 0; i < length; ++i) {
            if (random() % 3)
                text.append(QChar(char16_t('a' + random() % 26)));
            else
                text.append(QChar(pool[random() % std::size(pool)]));
        }
        const QByteArray out = encoded(text);
        QCOMPARE(out, text.toUtf8());
        QVERIFY(isValidUtf8(std::string_view(out.constData(), std::size_t(out.size()))));
    }
}

namespace {

QString decoded(const QByteArray &utf8)
{
    const std::string_view in(utf8.constData(), std::size_t(utf8.size()));
    const std::size_t size = utf16Size(in);
    QString out(qsizetype(size) + 1, QChar(0xA5A5));   // one guard unit
    char16_t *begin = reinterpret_cast<char16_t *>(out.data());
    char16_t *end = writeUtf16(in, begin);
    if (end > begin + size || out.back() != QChar(0xA5A5))
        return QStringLiteral("<wrote past the size>");
    out.resize(qsizetype(end - begin));
    return out;
}

} // namespace

void tst_Utf16::decodeMatchesQString_data()
{
    QTest::addColumn<QByteArray>("utf8");
    QTest::newRow("empty") << QByteArray();
    QTest::newRow("ASCII, 15 bytes") << QByteArray("abcdefghijklmno");
    QTest::newRow("ASCII, 16 bytes (one block)") << QByteArray("abcdefghijklmnop");
    QTest::newRow("ASCII, 64 bytes") << QByteArray(64, 'x');
    QTest::newRow("2-byte") << QByteArray("caf\xC3\xA9");
    QTest::newRow("3-byte") << QByteArray("\xE2\x82\xAC and \xEF\xBF\xBF");
    QTest::newRow("4-byte → surrogate pair") << QByteArray("\xF0\x9F\x98\x80!\xF4\x8F\xBF\xBF");
    QTest::newRow("non-ASCII inside a 16-byte block") << QByteArray("0123456\xC3\xA9" "89abcdefghijklmnop");
}

void tst_Utf16::decodeMatchesQString()
{
    QFETCH(QByteArray, utf8);
    QVERIFY(isValidUtf8(std::string_view(utf8.constData(), std::size_t(utf8.size()))));
    QCOMPARE(decoded(utf8), QString::fromUtf8(utf8));
}

void tst_Utf16::decodeRandomValidText()
{
    // Random code points of every length, as mostly-ASCII runs at every alignment.
    std::mt19937 random(7692);
    const char32_t pool[] = {0x41, 0x7F, 0x80, 0xE9, 0x7FF, 0x800, 0x4E2D, 0xFFFD, 0xFFFF, 0x10000, 0x1F600, 0x10FFFF};
    for (int round = 0; round < 2000; ++round) {
        QString text;
        const int length = int(random() % 70);
        for (int i = 0; i < length; ++i) {
            const char32_t cp = random() % 4 ? char32_t('a' + random() % 26) : pool[random() % std::size(pool)];
            text.append(QString::fromUcs4(&cp, 1));
        }
        const QByteArray utf8 = text.toUtf8();
        QCOMPARE(decoded(utf8), text);
    }
}

void tst_Utf16::decodeInvalidInputStaysInBounds()
{
    // The precondition is valid UTF-8; a caller that breaks it gets garbage, but never a write past
    // utf16Size(): stray continuation bytes, truncated sequences, leads without their tails, F5–FF.
    std::mt19937 random(6455);
    for (int round = 0; round < 5000; ++round) {
        QByteArray bytes;
        const int length = int(random() % 40);
        for (int i = 0; i < length; ++i)
            bytes.append(char(random() % 2 ? 0x80 + random() % 128 : random() % 256));
        QVERIFY2(decoded(bytes) != QStringLiteral("<wrote past the size>"), bytes.toHex().constData());
    }
}

QTEST_APPLESS_MAIN(tst_Utf16)
#include "tst_utf16.moc"
