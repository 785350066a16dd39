package io.peersocket.transport.tls;

import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.identity.PublicKey;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Objects;
import java.util.Set;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.CertException;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;

/**
 * The libp2p TLS handshake certificate (libp2p specs {@code tls/tls.md}): a self-signed X.509 certificate for a fresh
 * ECDSA P-256 key, carrying the host's libp2p public key and a host-key signature in the critical extension
 * {@value #EXTENSION_OID}:
 *
 * <pre>
 * SignedKey ::= SEQUENCE {
 *   publicKey OCTET STRING,   -- protobuf-encoded libp2p PublicKey of the host
 *   signature OCTET STRING    -- host key signature over "libp2p-tls-handshake:" || DER SubjectPublicKeyInfo
 * }
 * </pre>
 *
 * <p>{@link #verify} checks a presented chain and returns the remote host key; it never trusts a CA. The certificate
 * key is unrelated to the host key, as the spec recommends.
 *
 * <p>Stateless and thread-safe.
 */
public final class Libp2pTls {
    /** OID of the libp2p public key extension. */
    public static final String EXTENSION_OID = "1.3.6.1.4.1.53594.1.1";
    /** ALPN protocol id for libp2p over QUIC and TLS. */
    public static final String ALPN = "libp2p";
    /** Prefix of the data signed by the host key. */
    private static final byte[] SIGNATURE_PREFIX = "libp2p-tls-handshake:".getBytes(StandardCharsets.US_ASCII);
    /** Validity period before and after the time of generation. */
    public static final Duration VALIDITY = Duration.ofDays(365);
    /** Upper bound on the extension value; RSA-4096 host keys need about 1.1 KiB. */
    static final int MAX_EXTENSION_BYTES = 8192;
    /** Upper bound on a presented certificate's DER size. */
    static final int MAX_CERTIFICATE_BYTES = 16384;

    private static final ASN1ObjectIdentifier LIBP2P_OID = new ASN1ObjectIdentifier(EXTENSION_OID);
    /** Critical extensions we know and accept besides ours (RFC 5280 ones that peers commonly mark critical). */
    private static final Set<String> KNOWN_CRITICAL = Set.of(
            EXTENSION_OID,
            Extension.basicConstraints.getId(),
            Extension.keyUsage.getId(),
            Extension.extendedKeyUsage.getId(),
            Extension.subjectAlternativeName.getId());
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Certificate key algorithms we accept: ECDSA (id-ecPublicKey), Ed25519, RSA. */
    private static final Set<ASN1ObjectIdentifier> SUPPORTED_KEY_ALGORITHMS = Set.of(
            X9ObjectIdentifiers.id_ecPublicKey, EdECObjectIdentifiers.id_Ed25519,
            PKCSObjectIdentifiers.rsaEncryption);
    /** BouncyCastle as a private provider (not installed globally). */
    private static final BouncyCastleProvider BC = new BouncyCastleProvider();

    private Libp2pTls() {}

    /**
     * A certificate and its private key, as presented in a handshake.
     *
     * @param certificate the self-signed certificate carrying the libp2p extension
     * @param privateKey the certificate key (ECDSA P-256), not the host key
     */
    public record CertifiedKey(X509Certificate certificate, PrivateKey privateKey) {
        public CertifiedKey {
            Objects.requireNonNull(certificate, "certificate");
            Objects.requireNonNull(privateKey, "privateKey");
        }
    }

    /**
     * Generates a fresh ECDSA P-256 certificate key and a self-signed certificate for {@code hostKey}, valid from
     * {@link #VALIDITY} before now until {@link #VALIDITY} after now.
     *
     * @throws IllegalStateException if the platform lacks EC P-256 or SHA256withECDSA (never on a standard JDK)
     */
    public static CertifiedKey generate(HostKey hostKey) {
        Instant now = Instant.now();
        return generate(hostKey, now.minus(VALIDITY), now.plus(VALIDITY));
    }

    /** As {@link #generate(HostKey)} with an explicit validity window (for tests of expiry). */
    public static CertifiedKey generate(HostKey hostKey, Instant notBefore, Instant notAfter) {
        Objects.requireNonNull(hostKey, "hostKey");
        try {
            KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC");
            kpg.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            KeyPair certKey = kpg.generateKeyPair();
            byte[] spki = certKey.getPublic().getEncoded();
            byte[] signature = hostKey.sign(signedData(spki));
            byte[] extension = encodeSignedKey(hostKey.publicKey().toProto(), signature);
            X509Certificate cert = selfSign(certKey, "SHA256withECDSA", notBefore, notAfter, extension, true);
            return new CertifiedKey(cert, certKey.getPrivate());
        } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot generate libp2p TLS certificate: " + e.getMessage(), e);
        }
    }

    /**
     * The bytes the host key signs: {@code "libp2p-tls-handshake:" || spki} where {@code spki} is the DER
     * SubjectPublicKeyInfo of the certificate key.
     */
    public static byte[] signedData(byte[] spki) {
        byte[] out = new byte[SIGNATURE_PREFIX.length + spki.length];
        System.arraycopy(SIGNATURE_PREFIX, 0, out, 0, SIGNATURE_PREFIX.length);
        System.arraycopy(spki, 0, out, SIGNATURE_PREFIX.length, spki.length);
        return out;
    }

    /** DER of {@code SignedKey ::= SEQUENCE { publicKey OCTET STRING, signature OCTET STRING }}. */
    public static byte[] encodeSignedKey(byte[] publicKeyProto, byte[] signature) throws IOException {
        return new DERSequence(new ASN1Encodable[] {
                new DEROctetString(publicKeyProto), new DEROctetString(signature)}).getEncoded(ASN1Encoding.DER);
    }

    /**
     * Builds a self-signed certificate for {@code certKey} with the given libp2p extension value ({@code null}: no
     * extension). Exposed for tests that need malformed certificates; production code uses {@link #generate}.
     */
    public static X509Certificate selfSign(KeyPair certKey, String signatureAlgorithm, Instant notBefore,
            Instant notAfter, byte[] libp2pExtension, boolean critical)
            throws IOException, OperatorCreationException, GeneralSecurityException {
        X500Name name = new X500Name("SERIALNUMBER=" + new BigInteger(64, RANDOM));
        X509v3CertificateBuilder builder = new X509v3CertificateBuilder(
                name, new BigInteger(64, RANDOM).add(BigInteger.ONE), Date.from(notBefore), Date.from(notAfter), name,
                SubjectPublicKeyInfo.getInstance(certKey.getPublic().getEncoded()));
        if (libp2pExtension != null) {
            builder.addExtension(LIBP2P_OID, critical, libp2pExtension);
        }
        ContentSigner signer = new JcaContentSignerBuilder(signatureAlgorithm).build(certKey.getPrivate());
        X509CertificateHolder holder = builder.build(signer);
        return new JcaX509CertificateConverter().getCertificate(holder);
    }

    /** {@link #verify(X509Certificate[], Instant)} at the current time. */
    public static PublicKey verify(X509Certificate[] chain) throws Libp2pTlsException {
        return verify(chain, Instant.now());
    }

    /**
     * Verifies a certificate chain presented in a libp2p TLS handshake: exactly one certificate, valid at
     * {@code now}, correctly self-signed with an EC, Ed25519 or RSA key, no unknown critical extension, and a libp2p
     * extension whose host-key signature over the certificate key verifies.
     *
     * @return the remote host's public key (its {@link PublicKey#peerId()} is the authenticated peer)
     * @throws Libp2pTlsException naming the first check that failed
     */
    public static PublicKey verify(X509Certificate[] chain, Instant now) throws Libp2pTlsException {
        if (chain == null || chain.length == 0) {
            throw new Libp2pTlsException("no certificate presented");
        }
        if (chain.length != 1) {
            throw new Libp2pTlsException("expected exactly one certificate, got a chain of " + chain.length);
        }
        if (chain[0] == null) throw new Libp2pTlsException("certificate is null");
        byte[] der;
        try {
            der = chain[0].getEncoded();
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new Libp2pTlsException("certificate cannot be encoded: " + e.getMessage(), e);
        }
        return verify(der, now);
    }

    /**
     * {@link #verify(X509Certificate[], Instant)} for one DER certificate. Parsed with BouncyCastle, not the JDK:
     * other implementations (rust-libp2p, js-libp2p) issue certificates with an empty issuer/subject name, which the
     * JDK's parser refuses.
     */
    public static PublicKey verify(byte[] der, Instant now) throws Libp2pTlsException {
        if (der == null) throw new Libp2pTlsException("certificate is null");
        if (der.length > MAX_CERTIFICATE_BYTES) {
            throw new Libp2pTlsException("certificate is " + der.length + " bytes, limit " + MAX_CERTIFICATE_BYTES);
        }
        X509CertificateHolder cert;
        try {
            cert = new X509CertificateHolder(der);
        } catch (IOException | RuntimeException e) {
            throw new Libp2pTlsException("malformed certificate: " + e.getMessage(), e);
        }
        Date at = Date.from(now);
        if (at.after(cert.getNotAfter())) {
            throw new Libp2pTlsException("certificate expired (notAfter " + cert.getNotAfter().toInstant() + ")");
        }
        if (at.before(cert.getNotBefore())) {
            throw new Libp2pTlsException(
                    "certificate not yet valid (notBefore " + cert.getNotBefore().toInstant() + ")");
        }
        SubjectPublicKeyInfo spkiInfo = cert.getSubjectPublicKeyInfo();
        ASN1ObjectIdentifier keyAlg = spkiInfo.getAlgorithm().getAlgorithm();
        if (!SUPPORTED_KEY_ALGORITHMS.contains(keyAlg)) {
            throw new Libp2pTlsException("unsupported certificate key type " + keyAlg.getId());
        }
        boolean selfSigned;
        try {
            selfSigned = cert.isSignatureValid(new JcaContentVerifierProviderBuilder().setProvider(BC).build(spkiInfo));
        } catch (OperatorCreationException | CertException | RuntimeException e) {
            throw new Libp2pTlsException("certificate self-signature cannot be checked: " + e.getMessage(), e);
        }
        if (!selfSigned) {
            throw new Libp2pTlsException("certificate self-signature does not verify");
        }
        for (Object oid : cert.getCriticalExtensionOIDs()) {
            String id = ((ASN1ObjectIdentifier) oid).getId();
            if (!KNOWN_CRITICAL.contains(id)) {
                throw new Libp2pTlsException("unknown critical extension " + id);
            }
        }
        Extension extension = cert.getExtension(LIBP2P_OID);
        if (extension == null) {
            throw new Libp2pTlsException("libp2p public key extension " + EXTENSION_OID + " missing");
        }
        byte[] ext = extension.getExtnValue().getOctets();
        if (ext.length > MAX_EXTENSION_BYTES) {
            throw new Libp2pTlsException("libp2p extension is " + ext.length + " bytes, limit "
                    + MAX_EXTENSION_BYTES);
        }
        byte[] publicKeyProto;
        byte[] signature;
        try {
            ASN1Primitive prim = ASN1Primitive.fromByteArray(ext);
            ASN1Sequence seq = ASN1Sequence.getInstance(prim);
            if (seq.size() != 2) {
                throw new Libp2pTlsException("libp2p extension: SignedKey has " + seq.size() + " elements, expected 2");
            }
            if (!(seq.getObjectAt(0) instanceof ASN1OctetString pk)
                    || !(seq.getObjectAt(1) instanceof ASN1OctetString sig)) {
                throw new Libp2pTlsException("libp2p extension: SignedKey fields must be OCTET STRINGs");
            }
            publicKeyProto = pk.getOctets();
            signature = sig.getOctets();
            if (!java.util.Arrays.equals(prim.getEncoded(ASN1Encoding.DER), ext)) {
                throw new Libp2pTlsException("libp2p extension: SignedKey is not DER (or has trailing bytes)");
            }
        } catch (Libp2pTlsException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new Libp2pTlsException("libp2p extension: malformed SignedKey: " + e.getMessage(), e);
        }
        PublicKey hostKey;
        try {
            hostKey = PublicKey.fromProto(publicKeyProto);
        } catch (RuntimeException e) {
            throw new Libp2pTlsException("libp2p extension: bad host public key: " + e.getMessage(), e);
        }
        byte[] spki;
        try {
            spki = spkiInfo.getEncoded(ASN1Encoding.DER);
        } catch (IOException e) {
            throw new Libp2pTlsException("certificate SubjectPublicKeyInfo unreadable: " + e.getMessage(), e);
        }
        boolean ok;
        try {
            ok = hostKey.verify(signedData(spki), signature);
        } catch (RuntimeException e) {
            ok = false;
        }
        if (!ok) {
            throw new Libp2pTlsException("libp2p extension: host key signature does not verify (host key type "
                    + hostKey.type() + ")");
        }
        return hostKey;
    }

    /** {@link #verify(X509Certificate[])} returning the peer id. */
    public static PeerId verifyPeerId(X509Certificate[] chain) throws Libp2pTlsException {
        return verify(chain).peerId();
    }

}
