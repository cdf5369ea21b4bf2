// SPDX-License-Identifier: BSD-3-Clause
// The origin check of one handshake (mirrors QWebSocketCorsAuthenticator).
#pragma once

#include "quickwebsockets_global.h"

#include <QtCore/QObject>
#include <QtCore/QString>

namespace qws {

/// Passed to WebSocketServer::originAuthenticationRequired(); a slot sets allowed = false to refuse
/// the handshake with 403. Allowed by default.
class QWS_EXPORT CorsAuthenticator : public QObject
{
    Q_OBJECT
    Q_PROPERTY(QString origin READ origin CONSTANT FINAL)
    Q_PROPERTY(bool allowed READ allowed WRITE setAllowed FINAL)
public:
    explicit CorsAuthenticator(const QString &origin, QObject *parent = nullptr);
    ~CorsAuthenticator() override;

    QString origin() const { return m_origin; }
    bool allowed() const { return m_allowed; }
    void setAllowed(bool allowed) { m_allowed = allowed; }

private:
    QString m_origin;
    bool m_allowed = true;
};

} // namespace qws
