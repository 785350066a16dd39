package io.peersocket.transport.tls;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A trust manager that trusts no CA: it accepts a client or server chain iff {@link Libp2pTls#verify} accepts it
 * (one self-signed certificate whose libp2p extension verifies). Which peer it is gets checked by the caller after
 * the handshake. Stateless and thread-safe.
 */
public final class Libp2pTrustManager extends X509ExtendedTrustManager {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Libp2pTrustManager.class);
    /** Shared instance. */
    public static final Libp2pTrustManager INSTANCE = new Libp2pTrustManager();

    private static final X509Certificate[] NO_ISSUERS = new X509Certificate[0];

    private Libp2pTrustManager() {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        check(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(chain);
    }

    private static void check(X509Certificate[] chain) throws CertificateException {
        try {
            Libp2pTls.verify(chain);
        } catch (Libp2pTlsException e) {
            log.debug("rejecting peer certificate: {}", e.getMessage());
            throw e;
        } catch (RuntimeException e) {
            log.debug("rejecting peer certificate", e);
            throw new Libp2pTlsException("certificate check failed: " + e, e);
        }
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return NO_ISSUERS;
    }
}
