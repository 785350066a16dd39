package io.peersocket.transport.tls;

import java.security.cert.CertificateException;

/** A presented certificate fails the libp2p TLS checks; the message names the failed check. */
public class Libp2pTlsException extends CertificateException {
    public Libp2pTlsException(String message) { super(message); }
    public Libp2pTlsException(String message, Throwable cause) { super(message, cause); }
}
