// SPDX-License-Identifier: BSD-3-Clause
// Client sides for the TLS tests: a QSslSocket that sends a payload and collects the echo, and a
// helper running a command-line client (openssl s_client, python3, node) with input and a timeout.
#pragma once

#include <QtCore/QProcess>
#include <QtCore/QStringList>
#include <QtNetwork/QSslConfiguration>
#include <QtNetwork/QSslSocket>

namespace qws::test {

/// connectToHostEncrypted("127.0.0.1", port, "localhost"), writes the payload once encrypted, and
/// appends whatever comes back to `echoed`. `error` holds the first error text (with the SSL errors).
struct QtClient {
    explicit QtClient(const QSslConfiguration &configuration)
    {
        socket.setSslConfiguration(configuration);
        QObject::connect(&socket, &QSslSocket::encrypted, &socket, [this] { socket.write(payload); });
        QObject::connect(&socket, &QSslSocket::readyRead, &socket, [this] { echoed += socket.readAll(); });
        QObject::connect(&socket, &QSslSocket::sslErrors, &socket, [this](const QList<QSslError> &errors) {
            for (const QSslError &e : errors)
                sslErrors << e.errorString();
        });
        QObject::connect(&socket, &QAbstractSocket::errorOccurred, &socket, [this] {
            if (error.isEmpty())
                error = socket.errorString() + QLatin1Char(' ') + sslErrors.join(QStringLiteral("; "));
        });
    }
    void start(quint16 port, const QByteArray &data)
    {
        payload = data;
        socket.connectToHostEncrypted(QStringLiteral("127.0.0.1"), port, QStringLiteral("localhost"));
    }

    QSslSocket socket;
    QByteArray payload, echoed;
    QString error;
    QStringList sslErrors;
};

struct ProcessResult {
    bool finished = false;  ///< exited by itself within the timeout
    int exitCode = -1;
    QByteArray out, err;
};

/// Starts `program args`, writes `input` to its stdin (closing stdin afterwards unless keepStdinOpen),
/// and waits up to timeoutMs for it to exit (then kills it).
inline ProcessResult runProcess(const QString &program, const QStringList &args, const QByteArray &input,
                                bool keepStdinOpen = true, int timeoutMs = 20000,
                                const QProcessEnvironment &env = QProcessEnvironment::systemEnvironment())
{
    ProcessResult r;
    QProcess process;
    process.setProcessEnvironment(env);
    process.start(program, args);
    if (!process.waitForStarted(10000)) {
        r.err = process.errorString().toLocal8Bit();
        return r;
    }
    if (!input.isEmpty())
        process.write(input);
    if (!keepStdinOpen)
        process.closeWriteChannel();
    r.finished = process.waitForFinished(timeoutMs) && process.exitStatus() == QProcess::NormalExit;
    if (!r.finished) {
        process.kill();
        process.waitForFinished(5000);
    }
    r.exitCode = process.exitCode();
    r.out = process.readAllStandardOutput();
    r.err = process.readAllStandardError();
    return r;
}

} // namespace qws::test
