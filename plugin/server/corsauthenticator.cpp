// SPDX-License-Identifier: BSD-3-Clause
// qws::CorsAuthenticator: the origin decision of one handshake.
#include "corsauthenticator.h"
#include "eventbatch_p.h"

namespace qws {

/*!
    \class qws::CorsAuthenticator
    \inmodule QuickWebSockets
    \brief The origin check of one handshake, passed to WebSocketServer::originAuthenticationRequired().

    It lives on the engine thread running the handshake. A slot connected with Qt::DirectConnection
    calls setAllowed(false) to refuse the client with 403 Forbidden. Allowed by default.
*/

/*! Constructs an authenticator for \a origin with the given \a parent. */
CorsAuthenticator::CorsAuthenticator(const QString &origin, QObject *parent)
    : QObject(parent)
    , m_origin(origin)
{
}

/*! Destroys the authenticator. */
CorsAuthenticator::~CorsAuthenticator()
{
    tsanAcquire(this);   // made on an engine thread, deleted here after Qt's postEvent
}

} // namespace qws
