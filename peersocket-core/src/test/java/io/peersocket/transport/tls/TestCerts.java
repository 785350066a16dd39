package io.peersocket.transport.tls;

import io.peersocket.identity.HostKey;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;

/** Builds well-formed and deliberately broken libp2p TLS certificates for tests. */
public final class TestCerts {
    private TestCerts() {}

    /** What is wrong with a certificate. */
    public enum Flaw { NONE, NO_EXTENSION, BAD_SIGNATURE, WRONG_HOST_KEY_TYPE, EXPIRED, NOT_CRITICAL }

    public static KeyPair ecKey() throws Exception {
        KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC");
        kpg.initialize(new ECGenParameterSpec("secp256r1"));
        return kpg.generateKeyPair();
    }

    /** A P-256 certificate for {@code host} with the given flaw. */
    public static Libp2pTls.CertifiedKey build(HostKey host, Flaw flaw) throws Exception {
        KeyPair key = ecKey();
        Instant now = Instant.now();
        Instant notBefore = now.minusSeconds(3600);
        Instant notAfter = now.plusSeconds(86400);
        byte[] spki = key.getPublic().getEncoded();
        byte[] sig = host.sign(Libp2pTls.signedData(spki));
        byte[] pub = host.publicKey().toProto();
        byte[] ext = Libp2pTls.encodeSignedKey(pub, sig);
        boolean critical = true;
        switch (flaw) {
            case NONE -> { }
            case NO_EXTENSION -> ext = null;
            case BAD_SIGNATURE -> {
                sig[5] ^= 0x01;
                ext = Libp2pTls.encodeSignedKey(pub, sig);
            }
            case WRONG_HOST_KEY_TYPE -> {
                // protobuf PublicKey{Type: Secp256k1 (2), Data: 33 bytes} with an Ed25519 signature
                byte[] data = new byte[33];
                data[0] = 0x02;
                byte[] proto = new byte[4 + data.length];
                proto[0] = 0x08; proto[1] = 0x02; proto[2] = 0x12; proto[3] = (byte) data.length;
                System.arraycopy(data, 0, proto, 4, data.length);
                ext = Libp2pTls.encodeSignedKey(proto, sig);
            }
            case EXPIRED -> {
                notBefore = now.minusSeconds(7200);
                notAfter = now.minusSeconds(3600);
            }
            case NOT_CRITICAL -> critical = false;
        }
        return new Libp2pTls.CertifiedKey(
                Libp2pTls.selfSign(key, "SHA256withECDSA", notBefore, notAfter, ext, critical), key.getPrivate());
    }
}
