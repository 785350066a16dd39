package io.peersocket.multiaddr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class MultiaddrTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final String ALICE = "12D3KooWQCkBm1BYtkHpocxCwMgR8yjitEeHGx8spzcDLGt2gkBm";

    private static PeerId alice() throws Exception {
        byte[] seed = MessageDigest.getInstance("SHA-256").digest("alice".getBytes(StandardCharsets.UTF_8));
        return HostKey.fromSeed(seed).peerId();
    }

    private static String hex(Multiaddr m) { return HEX.formatHex(m.toBytes()); }

    // ------------------------------------------------------------------ known vectors

    /**
     * Text/binary pairs from go-multiaddr (multiaddr_test.go TestStringToBytes/TestZone) and swift-multiaddr
     * (certhash tests); the text column is canonical, so both directions must reproduce it exactly.
     */
    @ParameterizedTest
    @CsvSource({
        "/ip4/127.0.0.1/udp/1234, 047f000001910204d2",
        "/ip4/127.0.0.1/tcp/4321, 047f0000010610e1",
        "/ip4/127.0.0.1/udp/1234/ip4/127.0.0.1/tcp/4321, 047f000001910204d2047f0000010610e1",
        "/ip6zone/eth0/ip6/::1, 2a04657468302900000000000000000000000000000001",
        "/ip4/127.0.0.1/udp/1234/quic-v1, 047f000001910204d2cd03",
        "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/u1QEQOFj2IjCsPJFfMAxmQxLGPw,"
                + " 047f000001910204d2cd03d103d20313d501103858f62230ac3c915f300c664312c63f",
    })
    void knownVectorsBothWays(String text, String hex) {
        Multiaddr fromText = Multiaddr.parse(text);
        assertThat(hex(fromText)).isEqualTo(hex);
        Multiaddr fromBytes = Multiaddr.fromBytes(HEX.parseHex(hex));
        assertThat(fromBytes.toString()).isEqualTo(text);
        assertThat(fromBytes).isEqualTo(fromText).hasSameHashCodeAs(fromText);
    }

    /** Non-canonical text forms from the swift-multiaddr/go-multiaddr tests: encode to the published bytes. */
    @ParameterizedTest
    @CsvSource({
        "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/b2uaraocy6yrdblb4sfptaddgimjmmpy,"
                + " 047f000001910204d2cd03d103d20313d501103858f62230ac3c915f300c664312c63f",
        "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/b2uaraocy6yrdblb4sfptaddgimjmmpy/certhash/"
                + "zQmbWTwYGcmdyK9CYfNBcfs9nhZs17a6FQ4Y8oea278xx41,"
                + " 047f000001910204d2cd03d103d20313d501103858f62230ac3c915f300c664312c63f"
                + "d203221220c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2",
        "/ip4/104.131.131.82/udp/4001/quic-v1/webtransport/certhash/"
                + "f1220a78c594f830726e17fba30224d448d5c4a4434e9e5a14f24b3822d14da46d19b/certhash/"
                + "f1220855beff35231e37b3c4970b3e16e0e100eba09adc3e1ad5473a16c97f258b61e,"
                + " 046883835291020fa1cd03d103d203221220a78c594f830726e17fba30224d448d5c4a4434e9e5a14f24b3822d14da"
                + "46d19bd203221220855beff35231e37b3c4970b3e16e0e100eba09adc3e1ad5473a16c97f258b61e",
        "/ip4/127.0.0.1/tcp/1234/, 047f0000010604d2",
    })
    void nonCanonicalTextEncodesToPublishedBytes(String text, String hex) {
        Multiaddr m = Multiaddr.parse(text);
        assertThat(hex(m)).isEqualTo(hex);
        assertThat(Multiaddr.fromBytes(HEX.parseHex(hex))).isEqualTo(m);
        assertThat(Multiaddr.parse(m.toString())).isEqualTo(m);
    }

    @Test
    void p2pVectorFromJsMultiaddr() {
        // /ip4/127.0.0.1/tcp/41505/ws/p2p/12D3KooW… as encoded by js-multiaddr (published in a Filecoin client's tests).
        String hex = "047f00000106a221dd03a503260024080112209c242e980fb24f18e0e7c7906bdf411eb1d441443413671be9ed4b90d1e37bbb";
        Multiaddr m = Multiaddr.fromBytes(HEX.parseHex(hex));
        assertThat(m.toString()).startsWith("/ip4/127.0.0.1/tcp/41505/ws/p2p/12D3KooW");
        assertThat(m.peerId().toBytes()).isEqualTo(HEX.parseHex(hex.substring(hex.indexOf("a50326") + 6)));
        assertThat(hex(Multiaddr.parse(m.toString()))).isEqualTo(hex);
    }

    @Test
    void alicePeerIdInP2pComponent() throws Exception {
        PeerId alice = alice();
        assertThat(alice.toString()).isEqualTo(ALICE);
        Multiaddr m = Multiaddr.parse("/ip4/127.0.0.1/udp/4001/quic-v1/p2p/" + ALICE);
        assertThat(m.peerId()).isEqualTo(alice);
        assertThat(m.valueOf(Protocol.P2P)).isEqualTo(ALICE);
        // code 421 = varint a5 03, length 0x26 = 38, then the identity multihash 00 24 …
        assertThat(hex(m)).isEqualTo("047f00000191020fa1cd03a50326" + HEX.formatHex(alice.toBytes()));
        assertThat(HEX.formatHex(alice.toBytes())).startsWith("0024080112");
        // CIDv1 text and the /ipfs/ alias are accepted and print as /p2p/ base58btc.
        Multiaddr cid = Multiaddr.parse("/ip4/127.0.0.1/udp/4001/quic-v1/ipfs/" + alice.toCidString());
        assertThat(cid).isEqualTo(m);
        assertThat(cid.toString()).isEqualTo("/ip4/127.0.0.1/udp/4001/quic-v1/p2p/" + ALICE);
    }

    // ------------------------------------------------------------------ round trips

    @ParameterizedTest
    @ValueSource(strings = {
        "/ip4/1.2.3.4", "/ip4/0.0.0.0", "/ip4/255.255.255.255", "/ip4/192.0.2.0/ipcidr/24", "/ip6/::1", "/ip6/::",
        "/ip6/2601:9:4f81:9700:803e:ca65:66e8:c21/udp/1234/quic-v1", "/ip6/2001:db8::/ipcidr/32",
        "/ip6zone/x/ip6/fe80::1", "/ip6zone/x%y/ip6/fe80::1", "/ip6zone/x/ip6/fe80::1/udp/1234/quic-v1",
        "/ip6/::ffff:127.0.0.1/tcp/111", "/udp/0", "/tcp/65535", "/tcp/1234/tls/http", "/tcp/1234/https",
        "/ip4/127.0.0.1/udp/1234/quic", "/ip4/127.0.0.1/tcp/127/ws", "/ip4/127.0.0.1/tcp/127/tls/ws",
        "/ip4/127.0.0.1/tcp/127/noise", "/ip4/127.0.0.1/tcp/127/wss", "/ip4/127.0.0.1/udp/127/webrtc-direct",
        "/ip4/127.0.0.1/tcp/127/webrtc", "/ip4/127.0.0.1/tcp/443/tls/sni/example.com/http",
        "/dns/example.com/udp/4001/quic-v1", "/dns4/a.b-c_d.example./tcp/1", "/dns6/localhost/udp/1/quic-v1",
        "/dnsaddr/bootstrap.libp2p.io", "/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC",
        "/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV",
        "/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC/tcp/1234",
        "/ip4/1.2.3.4/udp/4001/quic-v1/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV/p2p-circuit/p2p/"
                + ALICE,
        "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g",
        "/",
    })
    void canonicalTextRoundTrips(String text) {
        Multiaddr m = Multiaddr.parse(text);
        assertThat(m.toString()).isEqualTo(text);
        assertThat(Multiaddr.fromBytes(m.toBytes())).isEqualTo(m);
        assertThat(Multiaddr.fromBytes(m.toBytes()).toString()).isEqualTo(text);
        assertThat(m.byteLength()).isEqualTo(m.toBytes().length);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "/ip6/0:0:0:0:0:0:0:1 | /ip6/::1",
        "/ip6/2001:DB8:0:0:1:0:0:1 | /ip6/2001:db8::1:0:0:1",
        "/ip6/2001:db8:0:1:1:1:1:1 | /ip6/2001:db8:0:1:1:1:1:1",
        "/ip6/2001:0db8:0000:0000:0000:ff00:0042:8329 | /ip6/2001:db8::ff00:42:8329",
        "/ip6/1:0:0:2:0:0:0:3 | /ip6/1:0:0:2::3",
        "/ip6/1:2:3:4:5:6:7:: | /ip6/1:2:3:4:5:6:7:0",
        "/ip6/::1.2.3.4 | /ip6/::102:304",
        "/ip6/::ffff:7f00:1 | /ip6/::ffff:127.0.0.1",
        "/ip6/fe80:0:0:0:0:0:0:1 | /ip6/fe80::1",
        "/ipfs/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC | /p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC",
        "/p2p/bafzaajaiaejcalj543iwv2d7pkjt7ykvefrkfu7qjfi6sduakhso4lay6abn2d5u/ | "
                + "/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV",
        "/ip4/1.2.3.4/udp/1/ | /ip4/1.2.3.4/udp/1",
    })
    void textIsCanonicalised(String input, String canonical) {
        Multiaddr m = Multiaddr.parse(input);
        assertThat(m.toString()).isEqualTo(canonical);
        assertThat(Multiaddr.parse(canonical)).isEqualTo(m);
    }

    @Test
    void cidV1Sha256PeerIdParses() {
        Multiaddr m = Multiaddr.parse("/p2p/bafzbeigvf25ytwc3akrijfecaotc74udrhcxzh2cx3we5qqnw5vgrei4bm");
        assertThat(m.toString()).startsWith("/p2p/Qm");
        assertThat(m.peerId().toBytes()).hasSize(34);
    }

    // ------------------------------------------------------------------ malformed text

    @Test
    void badIp4NamesAddressAndInput() {
        assertThatThrownBy(() -> Multiaddr.parse("/ip4/300.1.1.1/udp/1"))
                .isInstanceOf(MultiaddrException.class)
                .hasMessage("bad ip4 address \"300.1.1.1\" in /ip4/300.1.1.1/udp/1");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "/foo/1 | unknown protocol \"foo\"",
        "/ip4/1.2.3.4/udp | missing value for udp",
        "/ip4/1.2.3.4/udp/ | missing value for udp",
        "/ip4 | missing value for ip4",
        "/ip4/1.2.3.4/udp/70000 | udp port 70000 out of range",
        "/tcp/65536 | tcp port 65536 out of range",
        "/udp/-1 | bad udp port \"-1\"",
        "/udp/01 | bad udp port \"01\"",
        "/udp/+1 | bad udp port \"+1\"",
        "/udp/jfodsajfidosajfoidsa | bad udp port \"jfodsajfidosajfoidsa\"",
        "/ip4/::1 | bad ip4 address \"::1\"",
        "/ip4/localhost | bad ip4 address \"localhost\"",
        "/ip4/1.2.3 | bad ip4 address \"1.2.3\"",
        "/ip4/1.2.3.4.5 | bad ip4 address \"1.2.3.4.5\"",
        "/ip4/01.2.3.4 | bad ip4 address \"01.2.3.4\"",
        "/ip4/1..3.4 | bad ip4 address \"1..3.4\"",
        "/ip6/localhost | bad ip6 address \"localhost\"",
        "/ip6/1:2:3:4:5:6:7:8:9 | bad ip6 address",
        "/ip6/1::2::3 | bad ip6 address",
        "/ip6/12345:: | bad ip6 address",
        "/ip6/:1:: | bad ip6 address",
        "/ip6/1:2:3:4:5:6:7 | bad ip6 address",
        "/ip6/fe80::1:2:3:4:5:6:7 | bad ip6 address",
        "/ip6/1.2.3.4::1 | bad ip6 address",
        "/ip6/fe80::1%eth0 | bad ip6 address \"fe80::1%eth0\"",
        "/ip6/[::1] | bad ip6 address",
        "/ip4/1.2.3.4/ipcidr/256 | ipcidr value 256 out of range",
        "/ip6zone//ip6/fe80::1 | missing value for ip6zone",
        "/dns4/exa mple.com | bad dns4 name \"exa mple.com\"",
        "/dns/a..b | bad dns name \"a..b\" (empty label)",
        "/dns/.example | bad dns name \".example\" (empty label)",
        "/ip4/127.0.0.1/p2p | missing value for p2p",
        "/ip4/127.0.0.1/p2p/tcp | bad p2p peer id \"tcp\"",
        "/p2p/QmxoHT6iViN5xAjoz1VZ553cL31U9F94ht3QvWR1FrEbZY | bad p2p peer id",
        "/p2p/k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl- | bad p2p peer id",
        "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash | missing value for certhash",
        "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/b2uaraocy6yrdblb4sfptaddgimjmmp | bad certhash",
        "/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8 | bad certhash",
        "/certhash/x1234 | unsupported multibase prefix 'x'",
        "/certhash/f1220ab | multihash digest length 32 but 1 bytes follow",
        "/ip4/127.0.0.1/quic-v1/1234 | unknown protocol \"1234\"",
        "/ip4/127.0.0.1/tcp/9090/http/p2p-webcrt-direct | unknown protocol \"p2p-webcrt-direct\"",
        "/ip4/1.2.3.4//udp/1 | empty protocol name",
        "/ip4/1.2.3.4/udp/1// | empty protocol name",
        "/unix/a/b | unknown protocol \"unix\"",
        "ip4/1.2.3.4 | must start with \"/\"",
        "'' | must start with \"/\"",
    })
    void malformedTextNamesTheBadPart(String text, String expected) {
        assertThatThrownBy(() -> Multiaddr.parse(text))
                .isInstanceOf(MultiaddrException.class)
                .hasMessageContaining(expected);
    }

    @Test
    void errorMessageEchoIsSanitised() {
        assertThatThrownBy(() -> Multiaddr.parse("/ip4/1.2.3.4\n/udp/1"))
                .hasMessage("bad ip4 address \"1.2.3.4\\u000a\" in /ip4/1.2.3.4\\u000a/udp/1");
    }

    @Test
    void textOverTheBinaryBoundIsRejected() {
        String ok = "/quic-v1".repeat(Multiaddr.MAX_BYTES / 2); // 2 bytes each: exactly 1024
        assertThat(Multiaddr.parse(ok).byteLength()).isEqualTo(Multiaddr.MAX_BYTES);
        assertThatThrownBy(() -> Multiaddr.parse(ok + "/quic-v1"))
                .isInstanceOf(MultiaddrException.class)
                .hasMessageContaining("exceeds 1024 bytes");
        assertThatThrownBy(() -> Multiaddr.parse("/" + "a".repeat(Multiaddr.MAX_TEXT_CHARS)))
                .isInstanceOf(MultiaddrException.class)
                .hasMessageContaining("exceeds " + Multiaddr.MAX_TEXT_CHARS);
        assertThatThrownBy(() -> Multiaddr.parse("/dns/" + "a.".repeat(128)))
                .isInstanceOf(MultiaddrException.class)
                .hasMessageContaining("longer than 255 bytes");
    }

    @Test
    void parseDoesNoDnsLookup() {
        // A name under .invalid never resolves (RFC 6761); parsing must not try, and must not fail.
        Multiaddr m = Multiaddr.parse("/dns4/no-such-host.invalid/udp/4001/quic-v1");
        assertThat(m.valueOf(Protocol.DNS4)).isEqualTo("no-such-host.invalid");
        assertThat(m.isQuic()).isTrue();
        assertThatThrownBy(m::toQuicSocketAddress)
                .isInstanceOf(MultiaddrException.class)
                .hasMessageContaining("cannot resolve /dns4/no-such-host.invalid");
    }

    // ------------------------------------------------------------------ malformed binary

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        // unknown code 999 = e7 07
        "e707 | unknown protocol code 999 at byte 0",
        "047f000001e707 | unknown protocol code 999 at byte 5",
        // truncated fixed values
        "047f0000 | truncated ip4 value at byte 1: needs 4 bytes, 3 left",
        "047f0000019102 | truncated udp value at byte 7: needs 2 bytes, 0 left",
        "29000102 | truncated ip6 value at byte 1: needs 16 bytes, 3 left",
        // varints
        "a5 | truncated protocol code varint at byte 0",
        "8100 | bad protocol code varint at byte 0",
        "a503 | truncated p2p value length varint at byte 2",
        "a50305001a | truncated p2p value at byte 3: needs 5 bytes, 2 left",
        // length bounds: p2p 65 > 64, dns 256 > 255, certhash 257 > 256
        "a50341 | p2p value length 65 exceeds 64 bytes at byte 2",
        "358002 | dns value length 256 exceeds 255 bytes at byte 1",
        "d2038102 | certhash value length 257 exceeds 256 bytes at byte 2",
        "a503ffffffffffffffff7f | p2p value length",
        // values invalid for their protocol
        "a503221221c05877cbae039d70a5e600ea02c6f9f2942439285c9e344e26f8d280c850fad6 | bad p2p peer id",
        "3603612f62 | bad dns4 name (character '/' not allowed) at byte 2",
        "3600 | bad dns4 name (empty) at byte 2",
        "2a00 | bad ip6zone value (empty) at byte 2",
        "2a02652f | bad ip6zone value (contains '/') at byte 2",
        "3602c3a9 | bad dns4 name (character U+00C3 not allowed) at byte 2",
        "d203031220ff | bad certhash value: multihash digest length 32 but 1 bytes follow at byte 3",
    })
    void malformedBinaryNamesTheBadPart(String hex, String expected) {
        assertThatThrownBy(() -> Multiaddr.fromBytes(HEX.parseHex(hex.replace(" ", ""))))
                .isInstanceOf(MultiaddrException.class)
                .hasMessageContaining(expected);
    }

    @Test
    void binaryInputIsBounded() {
        byte[] max = new byte[Multiaddr.MAX_BYTES];
        for (int i = 0; i < max.length; i += 2) { max[i] = (byte) 0xcd; max[i + 1] = 0x03; } // quic-v1 × 512
        assertThat(Multiaddr.fromBytes(max).components()).hasSize(512);
        assertThatThrownBy(() -> Multiaddr.fromBytes(new byte[Multiaddr.MAX_BYTES + 1]))
                .isInstanceOf(MultiaddrException.class)
                .hasMessage("multiaddr of 1025 bytes exceeds 1024 bytes");
        // a 256-byte certhash value is the largest accepted
        byte[] digest = new byte[253];
        byte[] ch = new byte[3 + 2 + 3 + 253];
        ch[0] = (byte) 0xd2; ch[1] = 0x03; ch[2] = (byte) 0x80; ch[3] = 0x02; // code 466, length 256
        ch[4] = 0x12; ch[5] = (byte) 0xfd; ch[6] = 0x01; // sha2-256 code, digest length 253 (varint fd 01)
        System.arraycopy(digest, 0, ch, 7, digest.length);
        byte[] exact = java.util.Arrays.copyOf(ch, 4 + 256);
        Multiaddr m = Multiaddr.fromBytes(exact);
        assertThat(m.components().get(0).rawValue()).hasSize(256);
        assertThat(Multiaddr.parse(m.toString())).isEqualTo(m);
    }

    @Test
    void emptyMultiaddr() {
        Multiaddr empty = Multiaddr.fromBytes(new byte[0]);
        assertThat(empty.isEmpty()).isTrue();
        assertThat(empty.toString()).isEqualTo("/");
        assertThat(empty).isEqualTo(Multiaddr.parse("/"));
        assertThat(empty.isQuic()).isFalse();
        assertThat(empty.peerId()).isNull();
        assertThat(empty.isLoopback()).isFalse();
    }

    // ------------------------------------------------------------------ operations

    @Test
    void peerIdOperations() throws Exception {
        PeerId alice = alice();
        PeerId other = PeerId.parse("12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV");
        Multiaddr base = Multiaddr.parse("/ip4/127.0.0.1/udp/4001/quic-v1");
        assertThat(base.peerId()).isNull();
        assertThat(base.withoutPeerId()).isSameAs(base);

        Multiaddr withAlice = base.withPeerId(alice);
        assertThat(withAlice.toString()).isEqualTo(base + "/p2p/" + ALICE);
        assertThat(withAlice.peerId()).isEqualTo(alice);
        assertThat(withAlice.withoutPeerId()).isEqualTo(base);
        assertThat(withAlice.withPeerId(other).toString()).isEqualTo(base + "/p2p/" + other); // replaced

        Multiaddr circuit = withAlice.encapsulate(Multiaddr.parse("/p2p-circuit/p2p/" + other));
        assertThat(circuit.peerId()).isEqualTo(other);
        assertThat(circuit.decapsulate(Protocol.P2P_CIRCUIT)).isEqualTo(withAlice);
        assertThat(circuit.decapsulate(Protocol.P2P)).isEqualTo(withAlice.encapsulate(Multiaddr.parse("/p2p-circuit")));
        assertThat(circuit.decapsulate(Protocol.IP4)).isEqualTo(Multiaddr.parse("/"));
        assertThat(circuit.decapsulate(Protocol.TCP)).isSameAs(circuit);
        assertThat(circuit.withoutPeerId().peerId()).isEqualTo(alice);
    }

    @Test
    void componentsAndValues() {
        Multiaddr m = Multiaddr.parse("/ip4/10.0.0.1/tcp/80/ip4/10.0.0.2/udp/53/quic-v1");
        assertThat(m.components()).extracting(Multiaddr.Component::protocol)
                .containsExactly(Protocol.IP4, Protocol.TCP, Protocol.IP4, Protocol.UDP, Protocol.QUIC_V1);
        assertThat(m.valueOf(Protocol.IP4)).isEqualTo("10.0.0.1"); // first
        assertThat(m.valueOf(Protocol.UDP)).isEqualTo("53");
        assertThat(m.valueOf(Protocol.QUIC_V1)).isNull();
        assertThat(m.has(Protocol.QUIC_V1)).isTrue();
        assertThat(m.valueOf(Protocol.IP6)).isNull();
        assertThat(m.has(Protocol.IP6)).isFalse();
        Multiaddr.Component tcp = m.components().get(1);
        assertThat(tcp.rawValue()).containsExactly(0, 80);
        assertThat(tcp.toString()).isEqualTo("/tcp/80");
        tcp.rawValue()[0] = 9; // the accessor returns a copy
        assertThat(tcp.rawValue()).containsExactly(0, 80);
        assertThat(m.components().get(4).rawValue()).isEmpty();
        assertThat(m.components().get(4).value()).isNull();
        assertThatThrownBy(() -> m.components().clear()).isInstanceOf(UnsupportedOperationException.class);
        byte[] bytes = m.toBytes();
        bytes[0] = 0x29;
        assertThat(m.toBytes()[0]).isEqualTo((byte) 0x04); // toBytes returns a copy
        assertThat(m).isNotEqualTo(Multiaddr.parse("/ip4/10.0.0.1/tcp/80"));
    }

    @Test
    void encapsulateEnforcesBound() {
        Multiaddr half = Multiaddr.parse("/quic-v1".repeat(Multiaddr.MAX_BYTES / 4));
        assertThat(half.encapsulate(half).byteLength()).isEqualTo(Multiaddr.MAX_BYTES);
        assertThatThrownBy(() -> half.encapsulate(half).encapsulate(Multiaddr.parse("/tls")))
                .isInstanceOf(MultiaddrException.class).hasMessageContaining("exceeds 1024 bytes");
        assertThat(half.encapsulate(Multiaddr.parse("/"))).isSameAs(half);
    }

    // ------------------------------------------------------------------ QUIC

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "/ip4/1.2.3.4/udp/1/quic-v1 | true",
        "/ip6/::1/udp/1/quic-v1/p2p/" + ALICE + " | true",
        "/ip6zone/eth0/ip6/fe80::1/udp/1/quic-v1 | true",
        "/dns/example.com/udp/1/quic-v1 | true",
        "/dns4/example.com/udp/1/quic-v1 | true",
        "/dns6/example.com/udp/1/quic-v1 | true",
        "/dnsaddr/example.com/udp/1/quic-v1 | false",
        "/ip4/1.2.3.4/udp/1/quic | false",
        "/ip4/1.2.3.4/tcp/1/quic-v1 | false",
        "/ip4/1.2.3.4/udp/1/quic-v1/webtransport | false",
        "/ip4/1.2.3.4/udp/1/quic-v1/p2p/" + ALICE + "/p2p-circuit | false",
        "/ip6zone/eth0/ip4/1.2.3.4/udp/1/quic-v1 | false",
        "/udp/1/quic-v1 | false",
    })
    void isQuic(String text, boolean quic) {
        assertThat(Multiaddr.parse(text).isQuic()).isEqualTo(quic);
    }

    @Test
    void quicSocketAddressRoundTrip() throws Exception {
        InetSocketAddress v4 = new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}), 4001);
        Multiaddr m4 = Multiaddr.quic(v4);
        assertThat(m4.toString()).isEqualTo("/ip4/127.0.0.1/udp/4001/quic-v1");
        assertThat(m4.toQuicSocketAddress()).isEqualTo(v4);
        assertThat(m4.isLoopback()).isTrue();

        byte[] one = new byte[16];
        one[15] = 1;
        InetSocketAddress v6 = new InetSocketAddress(InetAddress.getByAddress(one), 65535);
        Multiaddr m6 = Multiaddr.quic(v6);
        assertThat(m6.toString()).isEqualTo("/ip6/::1/udp/65535/quic-v1");
        assertThat(m6.toQuicSocketAddress()).isEqualTo(v6);
        assertThat(m6.withPeerId(alice()).toQuicSocketAddress()).isEqualTo(v6);

        byte[] ll = HEX.parseHex("fe800000000000000000000000000001");
        Multiaddr scoped = Multiaddr.quic(new InetSocketAddress(Inet6Address.getByAddress(null, ll, 3), 9));
        assertThat(scoped.toString()).isEqualTo("/ip6zone/3/ip6/fe80::1/udp/9/quic-v1");
        InetSocketAddress back = scoped.toQuicSocketAddress();
        assertThat(((Inet6Address) back.getAddress()).getScopeId()).isEqualTo(3);
        assertThat(back.getPort()).isEqualTo(9);

        Multiaddr unresolved = Multiaddr.quic(InetSocketAddress.createUnresolved("example.com", 443));
        assertThat(unresolved.toString()).isEqualTo("/dns/example.com/udp/443/quic-v1");
        assertThatThrownBy(() -> Multiaddr.quic(InetSocketAddress.createUnresolved("bad name", 1)))
                .isInstanceOf(MultiaddrException.class).hasMessageContaining("bad dns name \"bad name\"");
    }

    @Test
    void dnsResolvesOnlyInToQuicSocketAddress() {
        InetSocketAddress a = Multiaddr.parse("/dns4/localhost/udp/4001/quic-v1").toQuicSocketAddress();
        assertThat(a.getAddress().isLoopbackAddress()).isTrue();
        assertThat(a.getAddress().getAddress()).hasSize(4);
        assertThat(a.getPort()).isEqualTo(4001);
        assertThat(Multiaddr.parse("/dns4/localhost/udp/4001/quic-v1").isLoopback()).isTrue();
    }

    @Test
    void toQuicSocketAddressRejectsOtherAddresses() {
        assertThatThrownBy(() -> Multiaddr.parse("/ip4/1.2.3.4/tcp/1").toQuicSocketAddress())
                .isInstanceOf(MultiaddrException.class)
                .hasMessage("not a QUIC address: /ip4/1.2.3.4/tcp/1");
    }

    @Test
    void loopback() {
        assertThat(Multiaddr.parse("/ip4/127.1.2.3/tcp/1").isLoopback()).isTrue();
        assertThat(Multiaddr.parse("/ip4/10.0.0.1/tcp/1").isLoopback()).isFalse();
        assertThat(Multiaddr.parse("/ip6/::ffff:127.0.0.1/tcp/1").isLoopback()).isTrue();
        assertThat(Multiaddr.parse("/ip6/::2").isLoopback()).isFalse();
        assertThat(Multiaddr.parse("/dns/LocalHost./udp/1").isLoopback()).isTrue();
        assertThat(Multiaddr.parse("/dns/notlocalhost/udp/1").isLoopback()).isFalse();
        assertThat(Multiaddr.parse("/tcp/1").isLoopback()).isFalse();
    }

    @Test
    void protocolTable() {
        assertThat(Protocol.forCode(421)).isEqualTo(Protocol.P2P);
        assertThat(Protocol.forName("ipfs")).isEqualTo(Protocol.P2P);
        assertThat(Protocol.forName("quic-v1")).isEqualTo(Protocol.QUIC_V1);
        assertThat(Protocol.forCode(12345)).isNull();
        assertThat(Protocol.UDP.code()).isEqualTo(273);
        assertThat(Protocol.IP6.sizeBits()).isEqualTo(128);
        assertThat(Protocol.QUIC_V1.hasValue()).isFalse();
        assertThat(Protocol.DNS4.isLengthPrefixed()).isTrue();
        assertThat(Protocol.P2P.maxValueBytes()).isEqualTo(64);
        for (Protocol p : Protocol.values()) {
            assertThat(Protocol.forCode(p.code())).isEqualTo(p);
            assertThat(Protocol.forName(p.textName())).isEqualTo(p);
        }
    }
}
