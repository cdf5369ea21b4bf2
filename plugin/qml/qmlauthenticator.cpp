// SPDX-License-Identifier: BSD-3-Clause
// Authenticators for QML handlers and the interruptible engine-thread → GUI-thread bridge.
#include "qmlauthenticator.h"

#include <QtCore/QDeadlineTimer>
#include <QtCore/QThread>

namespace qws {

/*!
    \qmltype OriginAuthenticator
    \inqmlmodule QuickWebSockets
    \brief The origin check of one handshake, passed to WebSocketServer::originAuthenticationRequired.

    Set \l allowed to \c false in the handler to refuse the client (HTTP 403). Valid only during the
    handler.
*/
/*!
    \qmlproperty string OriginAuthenticator::origin
    The \c Origin header the client sent (empty when none).
*/
/*!
    \qmlproperty bool OriginAuthenticator::allowed
    True (default) lets the handshake go on; set false to refuse it.
*/
void QmlOriginAuthenticator::setAllowed(bool allowed)
{
    if (m_allowed == allowed)
        return;
    m_allowed = allowed;
    Q_EMIT allowedChanged();
}

/*!
    \qmltype PreSharedKeyAuthenticator
    \inqmlmodule QuickWebSockets
    \brief A TLS-PSK request, passed to WebSocketServer::preSharedKeyAuthenticationRequired.

    Read the client's \l identity and set \l preSharedKey (an ArrayBuffer, at most
    \l maximumPreSharedKeyLength bytes). Valid only during the handler.
*/
/*!
    \qmlproperty string PreSharedKeyAuthenticator::identity
    \qmlproperty string PreSharedKeyAuthenticator::identityHint
    \qmlproperty int PreSharedKeyAuthenticator::maximumPreSharedKeyLength
    \qmlproperty ArrayBuffer PreSharedKeyAuthenticator::preSharedKey
*/
void QmlPreSharedKeyAuthenticator::setPreSharedKey(const QByteArray &key)
{
    if (m_key == key)
        return;
    m_key = m_maxKeyLength > 0 ? key.left(m_maxKeyLength) : key;
    Q_EMIT preSharedKeyChanged();
}

struct AuthenticationBridge::Call {
    std::function<void()> work;
    bool done = false;      // work ran (guarded by the bridge mutex)
    bool abandoned = false; // the waiter gave up; skip the work
};

bool AuthenticationBridge::run(QObject *context, std::function<void()> work, int timeoutMs)
{
    if (!context)
        return false;
    if (QThread::currentThread() == context->thread()) {
        if (!isOpen())
            return false;
        work();
        return true;
    }

    auto call = std::make_shared<Call>();
    call->work = std::move(work);
    {
        QMutexLocker lock(&m_mutex);
        if (!m_open)
            return false;
    }
    auto self = shared_from_this();
    // If `context` is destroyed first, Qt drops this call; the waiter is released by setOpen(false),
    // which the owner calls before it goes, or by its deadline.
    QMetaObject::invokeMethod(context, [self, call] {
        {
            QMutexLocker lock(&self->m_mutex);
            if (call->abandoned || !self->m_open)
                return;
        }
        call->work(); // without the lock: QML handlers may take their time
        QMutexLocker lock(&self->m_mutex);
        call->done = true;
        self->m_done.wakeAll();
    }, Qt::QueuedConnection);

    QDeadlineTimer deadline = timeoutMs < 0 ? QDeadlineTimer(QDeadlineTimer::Forever)
                                            : QDeadlineTimer(timeoutMs);
    QMutexLocker lock(&m_mutex);
    while (!call->done && m_open) {
        if (!m_done.wait(&m_mutex, deadline))
            break;
    }
    if (!call->done)
        call->abandoned = true;
    return call->done;
}

void AuthenticationBridge::setOpen(bool open)
{
    QMutexLocker lock(&m_mutex);
    m_open = open;
    if (!open)
        m_done.wakeAll();
}

bool AuthenticationBridge::isOpen() const
{
    QMutexLocker lock(&m_mutex);
    return m_open;
}

} // namespace qws
