package io.peersocket.multiaddr;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * Jazzer targets for the multiaddr decoders. Regression mode (the seeds in {@code MultiaddrFuzzTestInputs/<method>/})
 * runs in the normal test suite; {@code JAZZER_FUZZ=1} fuzzes. Both targets take raw bytes so that seed files are
 * plain text or binary multiaddrs (a {@code String} parameter would read seeds in Jazzer's own encoding).
 *
 * <p>Property: bad input fails only with {@link MultiaddrException} / {@link IllegalArgumentException}; anything
 * accepted round-trips through both forms and its query methods do not throw.
 */
class MultiaddrFuzzTest {

    @FuzzTest
    void fromBytes(byte[] data) {
        Multiaddr m;
        try {
            m = Multiaddr.fromBytes(data);
        } catch (IllegalArgumentException expected) { // includes MultiaddrException
            return;
        }
        assertThat(m.toBytes()).isEqualTo(data); // the binary form is canonical: varints minimal, values verbatim
        checkAccepted(m);
    }

    @FuzzTest
    void parse(byte[] data) {
        String text = new String(data, StandardCharsets.UTF_8);
        Multiaddr m;
        try {
            m = Multiaddr.parse(text);
        } catch (IllegalArgumentException expected) { // includes MultiaddrException
            return;
        }
        checkAccepted(m);
    }

    private static void checkAccepted(Multiaddr m) {
        String canonical = m.toString();
        Multiaddr reparsed = Multiaddr.parse(canonical);
        assertThat(reparsed).isEqualTo(m);
        assertThat(reparsed.toString()).isEqualTo(canonical);
        assertThat(Multiaddr.fromBytes(m.toBytes())).isEqualTo(m);
        assertThat(m.byteLength()).isLessThanOrEqualTo(Multiaddr.MAX_BYTES);

        StringBuilder joined = new StringBuilder();
        for (Multiaddr.Component c : m.components()) {
            joined.append(c);
            assertThat(c.value() == null).isEqualTo(!c.protocol().hasValue());
            assertThat(m.has(c.protocol())).isTrue();
            Multiaddr cut = m.decapsulate(c.protocol());
            assertThat(cut.components().size()).isLessThan(m.components().size());
            assertThat(Multiaddr.fromBytes(cut.toBytes())).isEqualTo(cut);
        }
        assertThat(joined.length() == 0 ? "/" : joined.toString()).isEqualTo(canonical);

        m.isLoopback();
        if (m.has(Protocol.P2P)) assertThat(m.peerId()).isNotNull();
        Multiaddr bare = m.withoutPeerId();
        int n = m.components().size();
        if (n > 0 && m.components().get(n - 1).protocol() == Protocol.P2P) {
            assertThat(bare.components()).isEqualTo(m.components().subList(0, n - 1));
            assertThat(m.withPeerId(m.peerId())).isEqualTo(m);
            assertThat(bare.encapsulate(Multiaddr.parse(m.components().get(n - 1).toString()))).isEqualTo(m);
        } else {
            assertThat(bare).isSameAs(m);
        }
        if (m.isQuic()) {
            Protocol host = m.components().get(0).protocol();
            if (host == Protocol.IP4 || host == Protocol.IP6) { // no DNS, no interface lookup
                java.net.InetSocketAddress sa = m.toQuicSocketAddress();
                assertThat(sa.getPort()).isEqualTo(Integer.parseInt(m.valueOf(Protocol.UDP)));
                assertThat(Multiaddr.quic(sa).toQuicSocketAddress()).isEqualTo(sa);
            }
        }
    }
}
