// SPDX-License-Identifier: BSD-3-Clause
// Sec-WebSocket-Extensions / -Protocol value parsing (RFC 6455 §9.1, §11.3.4; RFC 7230 §3.2.6, §7).
#include "protocol/extensions.h"

#include "offertext.h"

#include <QtTest/QtTest>

using namespace qws::protocol;
using qws::test::formatOffers;

namespace {


QStringList toList(const std::vector<std::string> &v)
{
    QStringList l;
    for (const std::string &s : v)
        l << QString::fromStdString(s);
    return l;
}

} // namespace

class tst_Extensions : public QObject {
    Q_OBJECT
private slots:
    void extensionOffers_data();
    void extensionOffers();
    void valuelessParamIsNotEmptyValue();
    void tokenList_data();
    void tokenList();
    void tokenListContains_data();
    void tokenListContains();
    void selectSubprotocol_data();
    void selectSubprotocol();
    void equalsIgnoreCase_data();
    void equalsIgnoreCase();
};

void tst_Extensions::extensionOffers_data()
{
    QTest::addColumn<QString>("header");
    QTest::addColumn<bool>("ok");
    QTest::addColumn<QString>("offers");

    auto ok = [](const char *name, const char *header, const char *offers) {
        QTest::newRow(name) << QString::fromUtf8(header) << true << QString::fromUtf8(offers);
    };
    auto bad = [](const char *name, const char *header) {
        QTest::newRow(name) << QString::fromUtf8(header) << false << QString();
    };
    ok("RFC 6455 §9.1: one extension", "permessage-deflate", "permessage-deflate");
    ok("RFC 7692 §7.1: Chromium's offer", "permessage-deflate; client_max_window_bits",
       "permessage-deflate[client_max_window_bits]");
    ok("RFC 6455 §9.1: token parameter value", "permessage-deflate; server_max_window_bits=10",
       "permessage-deflate[server_max_window_bits=10]");
    ok("RFC 6455 §9.1: quoted parameter value is unquoted", "permessage-deflate; client_max_window_bits=\"10\"",
       "permessage-deflate[client_max_window_bits=10]");
    ok("RFC 7230 §3.2.6: quoted-pair inside a quoted value", "x; a=\"1\\0\"", "x[a=10]");
    ok("RFC 6455 §9.1: two offers in preference order", "a; x=1, b; y", "a[x=1] | b[y]");
    ok("RFC 7692 §5: the same extension offered twice (fallback)",
       "permessage-deflate; client_max_window_bits=10, permessage-deflate",
       "permessage-deflate[client_max_window_bits=10] | permessage-deflate");
    ok("RFC 6455 §9.1: several parameters", "a; x; y=2; z=\"3\"", "a[x;y=2;z=3]");
    ok("RFC 7230 §3.2.3: OWS around ';', '=' and ','", " a \t;  x = 1 ,\tb ", "a[x=1] | b");
    ok("RFC 7230 §7: empty list elements are ignored", ", a,, b ,", "a | b");
    ok("RFC 7230 §7: an empty value holds no offers", "", "");
    ok("RFC 7230 §3.2.6: every tchar in a name", "!#$%&'*+-.^_`|~09azAZ", "!#$%&'*+-.^_`|~09azAZ");

    bad("RFC 6455 §9.1: dangling ';'", "a;");
    bad("RFC 6455 §9.1: ';' with no parameter name", "a; =1");
    bad("RFC 6455 §9.1: '=' with no value", "a; x=");
    bad("RFC 6455 §9.1: empty parameter between ';;'", "a;;x");
    bad("RFC 6455 §9.1: parameter list without an extension name", "; x=1");
    bad("RFC 6455 §9.1: quoted value that is not a token once unquoted", "a; x=\"1 0\"");
    bad("RFC 6455 §9.1: empty quoted value", "a; x=\"\"");
    bad("RFC 7230 §3.2.6: unterminated quoted value", "a; x=\"10");
    bad("RFC 7230 §3.2.6: quoted value ending in a lone backslash", "a; x=\"1\\");
    bad("RFC 6455 §9.1: two names without a comma", "a b");
    bad("RFC 6455 §9.1: two values for one parameter", "a; x=1 2");
    bad("RFC 7230 §3.2.6: separator '@' in a name", "a@b");
    bad("RFC 7230 §3.2.6: separator '/' in a value", "a; x=1/2");
    bad("RFC 6455 §9.1: a bad second offer voids the whole value", "a, b;");
}

void tst_Extensions::extensionOffers()
{
    QFETCH(QString, header);
    QFETCH(bool, ok);
    QFETCH(QString, offers);
    const std::string value = header.toStdString();

    // Offers are appended after what the vector held; a refused value appends nothing.
    std::vector<ExtensionOffer> out(1);
    out[0].name = "earlier";
    QCOMPARE(parseExtensionOffers(value, out), ok);
    QCOMPARE(out.front().name, std::string("earlier"));
    out.erase(out.begin());
    if (ok)
        QCOMPARE(formatOffers(out), offers);
    else
        QVERIFY(out.empty());
}

void tst_Extensions::valuelessParamIsNotEmptyValue()
{
    std::vector<ExtensionOffer> out;
    QVERIFY(parseExtensionOffers("permessage-deflate; client_max_window_bits; server_max_window_bits=\"15\"", out));
    QCOMPARE(out.size(), std::size_t(1));
    QCOMPARE(out[0].params.size(), std::size_t(2));
    QCOMPARE(out[0].params[0].name, std::string("client_max_window_bits"));
    QVERIFY(!out[0].params[0].value.has_value()); // RFC 7692 §7.1.2.2: a bare flag, not "="
    QCOMPARE(out[0].params[1].value, std::optional<std::string>("15"));
}

void tst_Extensions::tokenList_data()
{
    QTest::addColumn<QString>("header");
    QTest::addColumn<bool>("ok");
    QTest::addColumn<QStringList>("tokens");

    QTest::newRow("RFC 6455 §11.3.4: two subprotocols") << "chat, superchat" << true << QStringList{"chat", "superchat"};
    QTest::newRow("RFC 7230 §7: OWS and empty elements") << " \tchat ,, v2.bin ,\t" << true
                                                          << QStringList{"chat", "v2.bin"};
    QTest::newRow("RFC 7230 §7: empty value") << "" << true << QStringList{};
    QTest::newRow("RFC 7230 §7: only commas") << " , ," << true << QStringList{};
    QTest::newRow("RFC 6455 §11.3.4: case is kept") << "Chat,CHAT" << true << QStringList{"Chat", "CHAT"};
    QTest::newRow("RFC 7230 §3.2.6: space inside an element") << "chat room" << false << QStringList{};
    QTest::newRow("RFC 7230 §3.2.6: separator '/' in an element") << "a, b/c" << false << QStringList{};
    QTest::newRow("RFC 7230 §3.2.6: quoted element") << "\"chat\"" << false << QStringList{};
    QTest::newRow("RFC 7230 §3.2.6: non-ASCII element") << QString::fromUtf8("ch\u00e4t") << false << QStringList{};
}

void tst_Extensions::tokenList()
{
    QFETCH(QString, header);
    QFETCH(bool, ok);
    QFETCH(QStringList, tokens);

    std::vector<std::string> out{"earlier"};
    QCOMPARE(parseTokenList(header.toStdString(), out), ok);
    QCOMPARE(out.front(), std::string("earlier"));
    out.erase(out.begin());
    QCOMPARE(toList(out), tokens); // all or nothing: a refused list appends nothing
}

void tst_Extensions::tokenListContains_data()
{
    QTest::addColumn<QString>("header");
    QTest::addColumn<QString>("token");
    QTest::addColumn<bool>("contains");

    QTest::newRow("RFC 6455 §4.2.1 item 4: Connection: Upgrade") << "Upgrade" << "Upgrade" << true;
    QTest::newRow("RFC 6455 §4.2.1 item 4: \"keep-alive, Upgrade\" (Firefox)") << "keep-alive, Upgrade" << "Upgrade" << true;
    QTest::newRow("RFC 6455 §4.2.1 item 4: case-insensitive") << "keep-alive,upgrade" << "Upgrade" << true;
    QTest::newRow("RFC 7230 §7: OWS around the element") << "\t Upgrade \t, x" << "upgrade" << true;
    QTest::newRow("RFC 6455 §4.2.1 item 4: a longer token is not a match") << "Upgraded" << "Upgrade" << false;
    QTest::newRow("RFC 6455 §4.2.1 item 4: a prefix is not a match") << "notUpgrade, x" << "Upgrade" << false;
    QTest::newRow("RFC 6455 §4.2.1 item 4: absent") << "keep-alive, close" << "Upgrade" << false;
    QTest::newRow("RFC 7230 §7: empty value") << "" << "Upgrade" << false;
    QTest::newRow("RFC 7230 §7: empty token never matches an empty element") << "a,,b" << "" << false;
}

void tst_Extensions::tokenListContains()
{
    QFETCH(QString, header);
    QFETCH(QString, token);
    QFETCH(bool, contains);
    QCOMPARE(qws::protocol::tokenListContains(header.toStdString(), token.toStdString()), contains);
}

void tst_Extensions::selectSubprotocol_data()
{
    QTest::addColumn<QStringList>("server");
    QTest::addColumn<QStringList>("offered");
    QTest::addColumn<QString>("selected"); // empty: none

    QTest::newRow("RFC 6455 §4.2.2 item 5.4: the server's preference wins")
        << QStringList{"v2", "v1"} << QStringList{"v1", "v2"} << "v2";
    QTest::newRow("RFC 6455 §4.2.2 item 5.4: first server choice not offered")
        << QStringList{"mqtt", "chat"} << QStringList{"x", "chat"} << "chat";
    QTest::newRow("RFC 6455 §11.3.4: names are case-sensitive") << QStringList{"Chat"} << QStringList{"chat"} << "";
    QTest::newRow("RFC 6455 §4.2.2 item 5.4: nothing in common") << QStringList{"a"} << QStringList{"b"} << "";
    QTest::newRow("RFC 6455 §4.2.2 item 5.4: client offered none") << QStringList{"a"} << QStringList{} << "";
    QTest::newRow("RFC 6455 §4.2.2 item 5.4: server supports none") << QStringList{} << QStringList{"a"} << "";
}

void tst_Extensions::selectSubprotocol()
{
    QFETCH(QStringList, server);
    QFETCH(QStringList, offered);
    QFETCH(QString, selected);
    std::vector<std::string> s, o;
    for (const QString &x : server)
        s.push_back(x.toStdString());
    for (const QString &x : offered)
        o.push_back(x.toStdString());
    const std::optional<std::string> got = qws::protocol::selectSubprotocol(s, o);
    if (selected.isEmpty())
        QVERIFY(!got.has_value());
    else
        QCOMPARE(got, std::optional<std::string>(selected.toStdString()));
}

void tst_Extensions::equalsIgnoreCase_data()
{
    QTest::addColumn<QByteArray>("a");
    QTest::addColumn<QByteArray>("b");
    QTest::addColumn<bool>("equal");

    QTest::newRow("RFC 7230 §3.2: header names ignore ASCII case") << QByteArray("Sec-WebSocket-Key")
                                                                   << QByteArray("sec-websocket-KEY") << true;
    QTest::newRow("RFC 7230 §3.2: different lengths") << QByteArray("Host") << QByteArray("Hosts") << false;
    QTest::newRow("RFC 7230 §3.2: one letter differs") << QByteArray("Host") << QByteArray("Hose") << false;
    QTest::newRow("RFC 7230 §3.2: '@' is not '`' (only letters fold)") << QByteArray("@") << QByteArray("`") << false;
    QTest::newRow("RFC 7230 §3.2: '[' is not '{'") << QByteArray("a[") << QByteArray("A{") << false;
    QTest::newRow("RFC 7230 §3.2: non-ASCII bytes compare exactly") << QByteArray("\xc4") << QByteArray("\xe4") << false;
    QTest::newRow("RFC 7230 §3.2: empty strings") << QByteArray() << QByteArray() << true;
}

void tst_Extensions::equalsIgnoreCase()
{
    QFETCH(QByteArray, a);
    QFETCH(QByteArray, b);
    QFETCH(bool, equal);
    QCOMPARE(qws::protocol::equalsIgnoreCase(a.toStdString(), b.toStdString()), equal);
    QCOMPARE(qws::protocol::equalsIgnoreCase(b.toStdString(), a.toStdString()), equal);
}

QTEST_APPLESS_MAIN(tst_Extensions)
#include "tst_extensions.moc"
