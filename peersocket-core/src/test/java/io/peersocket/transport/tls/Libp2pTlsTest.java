package io.peersocket.transport.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.identity.HostKey;
import io.peersocket.identity.PublicKey;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;

class Libp2pTlsTest {
    private final HostKey host = HostKey.generate();

    private static X509Certificate[] chain(Libp2pTls.CertifiedKey ck) {
        return new X509Certificate[] {ck.certificate()};
    }

    @Test
    void generatedCertificateVerifiesAndYieldsHostKey() throws Exception {
        Libp2pTls.CertifiedKey ck = Libp2pTls.generate(host);
        X509Certificate cert = ck.certificate();
        PublicKey remote = Libp2pTls.verify(chain(ck));
        assertThat(remote).isEqualTo(host.publicKey());
        assertThat(Libp2pTls.verifyPeerId(chain(ck))).isEqualTo(host.peerId());
        assertThat(cert.getCriticalExtensionOIDs()).contains(Libp2pTls.EXTENSION_OID);
        assertThat(cert.getPublicKey().getAlgorithm()).isEqualTo("EC");
        assertThat(ck.privateKey().getAlgorithm()).isEqualTo("EC");
        Instant now = Instant.now();
        assertThat(cert.getNotBefore().toInstant()).isBefore(now.minus(Duration.ofDays(300)));
        assertThat(cert.getNotAfter().toInstant()).isAfter(now.plus(Duration.ofDays(300)));
        // a fresh key every time, unrelated to the host key
        Libp2pTls.CertifiedKey other = Libp2pTls.generate(host);
        assertThat(other.certificate().getPublicKey()).isNotEqualTo(cert.getPublicKey());
    }

    @Test
    void missingExtensionIsRejected() throws Exception {
        var ck = TestCerts.build(host, TestCerts.Flaw.NO_EXTENSION);
        assertThatThrownBy(() -> Libp2pTls.verify(chain(ck)))
                .isInstanceOf(Libp2pTlsException.class).hasMessageContaining("extension").hasMessageContaining("missing");
    }

    @Test
    void badSignatureInExtensionIsRejected() throws Exception {
        var ck = TestCerts.build(host, TestCerts.Flaw.BAD_SIGNATURE);
        assertThatThrownBy(() -> Libp2pTls.verify(chain(ck)))
                .isInstanceOf(Libp2pTlsException.class).hasMessageContaining("signature does not verify");
    }

    @Test
    void signatureByAnotherHostIsRejected() throws Exception {
        // extension claims host A but the signature was made by host B
        KeyPair key = TestCerts.ecKey();
        HostKey other = HostKey.generate();
        byte[] sig = other.sign(Libp2pTls.signedData(key.getPublic().getEncoded()));
        byte[] ext = Libp2pTls.encodeSignedKey(host.publicKey().toProto(), sig);
        X509Certificate cert = Libp2pTls.selfSign(key, "SHA256withECDSA", Instant.now().minusSeconds(60),
                Instant.now().plusSeconds(600), ext, true);
        assertThatThrownBy(() -> Libp2pTls.verify(new X509Certificate[] {cert}))
                .hasMessageContaining("signature does not verify");
    }

    @Test
    void signatureOverAnotherCertificateKeyIsRejected() throws Exception {
        // a valid extension lifted from another certificate
        KeyPair key = TestCerts.ecKey();
        KeyPair otherKey = TestCerts.ecKey();
        byte[] sig = host.sign(Libp2pTls.signedData(otherKey.getPublic().getEncoded()));
        byte[] ext = Libp2pTls.encodeSignedKey(host.publicKey().toProto(), sig);
        X509Certificate cert = Libp2pTls.selfSign(key, "SHA256withECDSA", Instant.now().minusSeconds(60),
                Instant.now().plusSeconds(600), ext, true);
        assertThatThrownBy(() -> Libp2pTls.verify(new X509Certificate[] {cert}))
                .hasMessageContaining("signature does not verify");
    }

    @Test
    void unverifiableHostKeyTypeIsRejected() throws Exception {
        var ck = TestCerts.build(host, TestCerts.Flaw.WRONG_HOST_KEY_TYPE);
        assertThatThrownBy(() -> Libp2pTls.verify(chain(ck)))
                .isInstanceOf(Libp2pTlsException.class).hasMessageContaining("SECP256K1");
    }

    @Test
    void expiredCertificateIsRejected() throws Exception {
        var ck = TestCerts.build(host, TestCerts.Flaw.EXPIRED);
        assertThatThrownBy(() -> Libp2pTls.verify(chain(ck)))
                .isInstanceOf(Libp2pTlsException.class).hasMessageContaining("expired");
        // and a good certificate checked after its notAfter / before its notBefore
        var good = Libp2pTls.generate(host);
        assertThatThrownBy(() -> Libp2pTls.verify(chain(good), Instant.now().plus(Duration.ofDays(400))))
                .hasMessageContaining("expired");
        assertThatThrownBy(() -> Libp2pTls.verify(chain(good), Instant.now().minus(Duration.ofDays(400))))
                .hasMessageContaining("not yet valid");
    }

    @Test
    void nonCriticalExtensionIsAccepted() throws Exception {
        var ck = TestCerts.build(host, TestCerts.Flaw.NOT_CRITICAL);
        assertThat(Libp2pTls.verify(chain(ck))).isEqualTo(host.publicKey());
    }

    @Test
    void chainMustHaveExactlyOneCertificate() throws Exception {
        var a = Libp2pTls.generate(host);
        var b = Libp2pTls.generate(host);
        assertThatThrownBy(() -> Libp2pTls.verify(new X509Certificate[] {a.certificate(), b.certificate()}))
                .hasMessageContaining("exactly one certificate");
        assertThatThrownBy(() -> Libp2pTls.verify(new X509Certificate[0])).hasMessageContaining("no certificate");
        assertThatThrownBy(() -> Libp2pTls.verify(null)).hasMessageContaining("no certificate");
    }

    @Test
    void brokenSelfSignatureIsRejected() throws Exception {
        KeyPair subject = TestCerts.ecKey();
        KeyPair signer = TestCerts.ecKey();
        byte[] sig = host.sign(Libp2pTls.signedData(subject.getPublic().getEncoded()));
        byte[] ext = Libp2pTls.encodeSignedKey(host.publicKey().toProto(), sig);
        X509Certificate cert = Libp2pTls.selfSign(new KeyPair(subject.getPublic(), signer.getPrivate()),
                "SHA256withECDSA", Instant.now().minusSeconds(60), Instant.now().plusSeconds(600), ext, true);
        assertThatThrownBy(() -> Libp2pTls.verify(new X509Certificate[] {cert}))
                .hasMessageContaining("self-signature");
    }

    @Test
    void unknownCriticalExtensionIsRejected() throws Exception {
        KeyPair key = TestCerts.ecKey();
        byte[] sig = host.sign(Libp2pTls.signedData(key.getPublic().getEncoded()));
        byte[] ext = Libp2pTls.encodeSignedKey(host.publicKey().toProto(), sig);
        X500Name name = new X500Name("CN=x");
        var builder = new X509v3CertificateBuilder(name, BigInteger.TEN, Date.from(Instant.now().minusSeconds(60)),
                Date.from(Instant.now().plusSeconds(600)), name,
                SubjectPublicKeyInfo.getInstance(key.getPublic().getEncoded()));
        builder.addExtension(new ASN1ObjectIdentifier(Libp2pTls.EXTENSION_OID), true, ext);
        builder.addExtension(new ASN1ObjectIdentifier("1.2.3.4.5"), true, DERNull.INSTANCE);
        X509Certificate cert = new JcaX509CertificateConverter().getCertificate(
                builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())));
        assertThatThrownBy(() -> Libp2pTls.verify(new X509Certificate[] {cert}))
                .hasMessageContaining("unknown critical extension 1.2.3.4.5");
    }

    @Test
    void malformedExtensionIsRejected() throws Exception {
        KeyPair key = TestCerts.ecKey();
        for (byte[] ext : new byte[][] {
                new DEROctetString(new byte[] {1, 2, 3}).getEncoded(), // not a SEQUENCE
                new byte[] {0x30, 0x03, 0x04, 0x01, 0x00},             // one element
                new byte[] {0x30, 0x05, 0x02, 0x01, 0x00, 0x02, 0x00}, // INTEGERs / truncated
        }) {
            X509Certificate cert = Libp2pTls.selfSign(key, "SHA256withECDSA", Instant.now().minusSeconds(60),
                    Instant.now().plusSeconds(600), ext, true);
            assertThatThrownBy(() -> Libp2pTls.verify(new X509Certificate[] {cert}))
                    .isInstanceOf(Libp2pTlsException.class).hasMessageContaining("libp2p extension");
        }
        // garbage host public key protobuf
        byte[] sig = host.sign(Libp2pTls.signedData(key.getPublic().getEncoded()));
        X509Certificate cert = Libp2pTls.selfSign(key, "SHA256withECDSA", Instant.now().minusSeconds(60),
                Instant.now().plusSeconds(600), Libp2pTls.encodeSignedKey(new byte[] {(byte) 0xff, 1}, sig), true);
        assertThatThrownBy(() -> Libp2pTls.verify(new X509Certificate[] {cert}))
                .hasMessageContaining("bad host public key");
    }

    @Test
    void emptyIssuerAndSubjectNamesAreAccepted() throws Exception {
        // rust-libp2p / js-libp2p certificates have empty names, which the JDK's X.509 parser refuses
        KeyPair key = TestCerts.ecKey();
        byte[] sig = host.sign(Libp2pTls.signedData(key.getPublic().getEncoded()));
        X500Name empty = new X500Name(new org.bouncycastle.asn1.x500.RDN[0]);
        var builder = new X509v3CertificateBuilder(empty, BigInteger.ONE, Date.from(Instant.now().minusSeconds(60)),
                Date.from(Instant.now().plusSeconds(600)), empty,
                SubjectPublicKeyInfo.getInstance(key.getPublic().getEncoded()));
        builder.addExtension(new ASN1ObjectIdentifier(Libp2pTls.EXTENSION_OID), true,
                Libp2pTls.encodeSignedKey(host.publicKey().toProto(), sig));
        byte[] der = builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate()))
                .getEncoded();
        assertThat(Libp2pTls.verify(der, Instant.now())).isEqualTo(host.publicKey());
    }

    @Test
    void malformedDerIsRejected() {
        assertThatThrownBy(() -> Libp2pTls.verify(new byte[] {0x30, 0x03, 1, 2, 3}, Instant.now()))
                .isInstanceOf(Libp2pTlsException.class).hasMessageContaining("malformed certificate");
        assertThatThrownBy(() -> Libp2pTls.verify(new byte[20000], Instant.now()))
                .isInstanceOf(Libp2pTlsException.class).hasMessageContaining("limit");
    }

    @Test
    void rsaCertificateKeyIsAccepted() throws Exception {
        KeyPairGenerator kpg = KeyPairGenerator.getInstance("RSA");
        kpg.initialize(2048);
        KeyPair key = kpg.generateKeyPair();
        byte[] sig = host.sign(Libp2pTls.signedData(key.getPublic().getEncoded()));
        X509Certificate cert = Libp2pTls.selfSign(key, "SHA256withRSA", Instant.now().minusSeconds(60),
                Instant.now().plusSeconds(600), Libp2pTls.encodeSignedKey(host.publicKey().toProto(), sig), true);
        assertThat(Libp2pTls.verify(new X509Certificate[] {cert})).isEqualTo(host.publicKey());
    }

    @Test
    void trustManagerAppliesTheSameChecks() throws Exception {
        var good = Libp2pTls.generate(host);
        Libp2pTrustManager.INSTANCE.checkClientTrusted(chain(good), "ECDSA");
        Libp2pTrustManager.INSTANCE.checkServerTrusted(chain(good), "ECDSA", (javax.net.ssl.SSLEngine) null);
        var bad = TestCerts.build(host, TestCerts.Flaw.NO_EXTENSION);
        assertThatThrownBy(() -> Libp2pTrustManager.INSTANCE.checkClientTrusted(chain(bad), "ECDSA"))
                .isInstanceOf(CertificateException.class);
        assertThat(Libp2pTrustManager.INSTANCE.getAcceptedIssuers()).isEmpty();
    }
}
