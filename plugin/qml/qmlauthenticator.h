// SPDX-License-Identifier: BSD-3-Clause
// Authenticators handed to QML handlers, and the bridge that lets an engine thread wait for them.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QMutex>
#include <QtCore/QObject>
#include <QtCore/QString>
#include <QtCore/QWaitCondition>
#include <QtQml/qqmlregistration.h>

#include <functional>
#include <memory>

namespace qws {

/// Passed to WebSocketServer.originAuthenticationRequired. Lives on the GUI thread for the duration of
/// the handler only.
class QmlOriginAuthenticator : public QObject
{
    Q_OBJECT
    QML_NAMED_ELEMENT(OriginAuthenticator)
    QML_UNCREATABLE("Passed to WebSocketServer.onOriginAuthenticationRequired")
    Q_PROPERTY(QString origin READ origin CONSTANT FINAL)
    Q_PROPERTY(bool allowed READ allowed WRITE setAllowed NOTIFY allowedChanged FINAL)
public:
    explicit QmlOriginAuthenticator(const QString &origin, QObject *parent = nullptr)
        : QObject(parent), m_origin(origin) { }
    QString origin() const { return m_origin; }
    bool allowed() const { return m_allowed; }
    void setAllowed(bool allowed);
Q_SIGNALS:
    void allowedChanged();
private:
    QString m_origin;
    bool m_allowed = true;
};

/// Passed to WebSocketServer.preSharedKeyAuthenticationRequired (TLS-PSK).
class QmlPreSharedKeyAuthenticator : public QObject
{
    Q_OBJECT
    QML_NAMED_ELEMENT(PreSharedKeyAuthenticator)
    QML_UNCREATABLE("Passed to WebSocketServer.onPreSharedKeyAuthenticationRequired")
    Q_PROPERTY(QString identity READ identity CONSTANT FINAL)
    Q_PROPERTY(QString identityHint READ identityHint CONSTANT FINAL)
    Q_PROPERTY(int maximumPreSharedKeyLength READ maximumPreSharedKeyLength CONSTANT FINAL)
    Q_PROPERTY(QByteArray preSharedKey READ preSharedKey WRITE setPreSharedKey
               NOTIFY preSharedKeyChanged FINAL)
public:
    QmlPreSharedKeyAuthenticator(const QByteArray &identity, const QByteArray &identityHint,
                                 int maximumPreSharedKeyLength, QObject *parent = nullptr)
        : QObject(parent), m_identity(identity), m_identityHint(identityHint),
          m_maxKeyLength(maximumPreSharedKeyLength) { }
    QString identity() const { return QString::fromUtf8(m_identity); }
    QString identityHint() const { return QString::fromUtf8(m_identityHint); }
    int maximumPreSharedKeyLength() const { return m_maxKeyLength; }
    QByteArray preSharedKey() const { return m_key; }
    void setPreSharedKey(const QByteArray &key);
Q_SIGNALS:
    void preSharedKeyChanged();
private:
    QByteArray m_identity;
    QByteArray m_identityHint;
    int m_maxKeyLength = 0;
    QByteArray m_key;
};

/// Held by std::shared_ptr (the posted work keeps it alive).
/// Runs a piece of work on the GUI thread on behalf of an engine thread that must wait for its
/// answer (origin and PSK checks happen inside the engine's handshake).
///
/// Why not Qt::BlockingQueuedConnection: when the GUI thread tears the engine down it joins the
/// engine threads; an engine thread blocked in a BlockingQueuedConnection then waits for a GUI
/// thread that waits for it — a deadlock. Here the wait is interruptible: close() (called before
/// the engine is closed or destroyed) wakes every waiter with "not answered", waiters give up at
/// their deadline, and work whose waiter gave up is skipped.
class AuthenticationBridge : public std::enable_shared_from_this<AuthenticationBridge>
{
public:
    /// Called on an engine thread. Posts `work` to `context`'s thread and waits until it ran, the
    /// bridge closes, or `timeoutMs` passes (< 0: no deadline). Returns true if `work` ran.
    /// If called on `context`'s own thread, runs `work` directly.
    bool run(QObject *context, std::function<void()> work, int timeoutMs);
    /// Closed: run() returns false at once and current waiters are released.
    void setOpen(bool open);
    bool isOpen() const;

private:
    struct Call;
    mutable QMutex m_mutex;
    QWaitCondition m_done;
    bool m_open = false;
};

} // namespace qws
