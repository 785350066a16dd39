package io.peersocket.protocol.kad;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.identity.PeerId;
import io.peersocket.node.Node;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.util.FrameDecoder;
import io.peersocket.util.Varint;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Kademlia between real nodes over QUIC on loopback. */
class KademliaIntegrationTest {
    private static final String LOOPBACK = "/ip4/127.0.0.1/udp/0/quic-v1";
    private static final KadConfig FAST = KadConfig.builder().requestTimeoutMs(3_000).lookupTimeoutMs(10_000).build();

    private final List<Node> nodes = new ArrayList<>();
    private final Map<Node, Kademlia> kads = new HashMap<>();

    @AfterEach
    void close() {
        for (Kademlia k : kads.values()) k.close();
        for (Node n : nodes) n.close();
    }

    private Node node() throws Exception {
        Node n = Node.builder().listen(LOOPBACK).start();
        nodes.add(n);
        return n;
    }

    private Kademlia kad(Node n, KadConfig config) {
        Kademlia k = new Kademlia(n, config);
        kads.put(n, k);
        return k;
    }

    /** {@code count} server nodes; each after the first connects to node 0 and waits until node 0 is in its table. */
    private List<Kademlia> network(int count, KadConfig config) throws Exception {
        List<Kademlia> out = new ArrayList<>();
        for (int i = 0; i < count; i++) out.add(kad(node(), config));
        Node first = nodes.get(nodes.size() - count);
        for (int i = 1; i < count; i++) {
            Kademlia k = out.get(i);
            get(k.host().connect(first.addresses().get(0)));
            awaitTrue(() -> get(k.inspect(t -> t.isMember(first.peerId()))), "node 0 in the table of node " + i);
        }
        return out;
    }

    static <T> T get(CompletableFuture<T> f) throws Exception {
        return f.get(20, TimeUnit.SECONDS);
    }

    interface Check {
        boolean test() throws Exception;
    }

    /** Polls {@code condition} (every few ms, at most 20 s) until it holds. */
    static void awaitTrue(Check condition, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.test()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        }
    }

    private static boolean knows(Kademlia k, PeerId p) throws Exception {
        return get(k.inspect(t -> t.knows(p)));
    }

    private static byte[] utf8(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    @Test
    void twelveNodesBootstrappedFromNodeZeroFindEveryOtherNode() throws Exception {
        List<Kademlia> ks = network(12, FAST);
        for (Kademlia k : ks.subList(1, ks.size())) {
            Kademlia.LookupResult r = get(k.bootstrap());
            assertThat(r.closest()).isNotEmpty();
            assertThat(r.stats().queried()).isPositive();
        }
        List<PeerId> all = ks.stream().map(Kademlia::self).toList();
        int lookups = 0;
        int maxHops = 0;
        for (Kademlia a : ks) {
            for (Kademlia b : ks) {
                if (a == b) continue;
                Kademlia.FindPeerResult r = get(a.findPeer(b.self()));
                assertThat(r.peer().id()).isEqualTo(b.self());
                assertThat(r.peer().addresses()).containsAnyElementsOf(b.host().listenAddresses());
                maxHops = Math.max(maxHops, r.stats().hops());
                lookups++;
            }
        }
        assertThat(lookups).isEqualTo(132);
        assertThat(maxHops).isLessThanOrEqualTo(3);
        // the closest peers of a key agree with the true k closest in the network
        byte[] key = utf8("some key");
        List<PeerId> truth = all.stream().sorted((x, y) -> KadKey.ofKey(key).compareDistance(KadKey.of(x), KadKey.of(y)))
                .limit(4).toList();
        Kademlia.LookupResult r = get(ks.get(5).getClosestPeers(key));
        List<PeerId> found = r.closest().stream().map(KadPeer::id).toList();
        assertThat(found).containsAll(truth.stream().filter(p -> !p.equals(ks.get(5).self())).toList());
        // every table is healthy against the whole network once the connection manager has run
        for (Kademlia k : ks) {
            KadConnectionManager cm = new KadConnectionManager(k);
            get(cm.tick());
            awaitTrue(() -> {
                get(cm.tick());
                return get(k.health(all)).healthy();
            }, "healthy table of " + k.self());
            cm.close();
        }
    }

    @Test
    void findPeerGoesThroughAnotherNode() throws Exception {
        List<Kademlia> ks = network(5, FAST);
        // nodes 1..4 only know node 0; node 1 finds node 4 through it in one hop
        Kademlia.FindPeerResult r = get(ks.get(1).findPeer(ks.get(4).self()));
        assertThat(r.peer().addresses()).containsAnyElementsOf(ks.get(4).host().listenAddresses());
        assertThat(r.stats().hops()).isEqualTo(1);
        assertThat(r.stats().queried()).isGreaterThanOrEqualTo(1);
        assertThat(r.stats().durationMs()).isNotNegative();
        // and can then reach it
        assertThat(get(ks.get(1).ping(ks.get(4).self()))).isNotNegative();
        // an unknown peer is reported as not found
        PeerId nobody = TestPeers.random(new java.util.Random(5));
        assertThatThrownBy(() -> get(ks.get(2).findPeer(nobody)))
                .hasCauseInstanceOf(KadException.class).hasMessageContaining("not found");
    }

    @Test
    void lookupsNeedABootstrapPeer() throws Exception {
        Kademlia alone = kad(node(), FAST);
        assertThatThrownBy(() -> get(alone.bootstrap())).hasCauseInstanceOf(KadException.class)
                .hasMessageContaining("no peers in the routing table");
    }

    /** Values "v<number>"; a higher number is newer. */
    static final class VersionValidator implements Validator {
        @Override public void validate(byte[] key, byte[] value) {
            String v = new String(value, StandardCharsets.UTF_8);
            if (!v.matches("v[0-9]{1,9}")) throw new InvalidRecordException("value must be v<number>, got " + v);
        }

        @Override public int select(byte[] key, List<byte[]> values) {
            int best = 0;
            for (int i = 1; i < values.size(); i++) if (version(values.get(i)) > version(values.get(best))) best = i;
            return best;
        }

        static int version(byte[] v) { return Integer.parseInt(new String(v, 1, v.length - 1, StandardCharsets.UTF_8)); }
    }

    @Test
    void putAndGetValueWithANamespaceValidator() throws Exception {
        List<Kademlia> ks = network(8, FAST);
        for (Kademlia k : ks) k.registerValidator("test", new VersionValidator());
        for (Kademlia k : ks.subList(1, ks.size())) get(k.bootstrap());
        byte[] key = utf8("/test/greeting");

        Kademlia.PutValueResult put = get(ks.get(1).putValue(key, utf8("v1")));
        assertThat(put.stored()).isGreaterThanOrEqualTo(5);
        assertThat(put.failed()).isZero();
        Kademlia.GetValueResult got = get(ks.get(6).getValue(key));
        assertThat(new String(got.value(), StandardCharsets.UTF_8)).isEqualTo("v1");

        // a newer value replaces it at the closest peers; a getter with a quorum sees only the newer one
        assertThat(get(ks.get(2).putValue(key, utf8("v2"))).stored()).isGreaterThanOrEqualTo(5);
        Kademlia.GetValueResult newer = get(ks.get(7).getValue(key, 3));
        assertThat(new String(newer.value(), StandardCharsets.UTF_8)).isEqualTo("v2");
        assertThat(newer.copies()).isGreaterThanOrEqualTo(3);

        // an older value is refused locally by a node holding the newer one, and remotely by its peers
        assertThatThrownBy(() -> get(ks.get(3).putValue(key, utf8("v0"))))
                .hasCauseInstanceOf(InvalidRecordException.class).hasMessageContaining("older than the stored one");
        Kademlia late = kad(node(), FAST);
        late.registerValidator("test", new VersionValidator());
        get(late.host().connect(nodes.get(0).addresses().get(0)));
        awaitTrue(() -> get(late.inspect(t -> t.size() > 0)), "late node has a peer");
        Kademlia.PutValueResult stale = get(late.putValue(key, utf8("v0")));
        assertThat(stale.stored()).isZero();
        assertThat(stale.failed()).isGreaterThanOrEqualTo(5);
        long staleCount = ks.stream().mapToLong(k -> k.host().counters().get("kad.record.stale")).sum();
        assertThat(staleCount).isGreaterThanOrEqualTo(5);
        assertThat(new String(get(ks.get(4).getValue(key, 3)).value(), StandardCharsets.UTF_8)).isEqualTo("v2");

        // invalid records fail before anything is sent
        assertThatThrownBy(() -> get(ks.get(1).putValue(key, utf8("nope"))))
                .hasCauseInstanceOf(InvalidRecordException.class).hasMessageContaining("v<number>");
        assertThatThrownBy(() -> get(ks.get(1).putValue(utf8("/other/x"), utf8("v1"))))
                .hasCauseInstanceOf(InvalidRecordException.class).hasMessageContaining("no validator for namespace \"other\"");
        assertThatThrownBy(() -> get(ks.get(1).getValue(utf8("/test/missing"))))
                .hasCauseInstanceOf(KadException.class).hasMessageContaining("no record");
    }

    @Test
    void provideAndFindProviders() throws Exception {
        List<Kademlia> ks = network(8, FAST);
        for (Kademlia k : ks.subList(1, ks.size())) get(k.bootstrap());
        byte[] cid = utf8("content-id-1");
        Kademlia.ProvideResult pr = get(ks.get(3).provide(cid));
        assertThat(pr.announced()).isGreaterThanOrEqualTo(5);
        Kademlia.FindProvidersResult fr = get(ks.get(6).findProviders(cid));
        assertThat(fr.providers()).extracting(KadPeer::id).contains(ks.get(3).self());
        KadPeer provider = fr.providers().stream().filter(p -> p.id().equals(ks.get(3).self())).findFirst().orElseThrow();
        assertThat(provider.addresses()).containsAnyElementsOf(ks.get(3).host().listenAddresses());
        // a second provider is found too
        get(ks.get(5).provide(cid));
        awaitTrue(() -> get(ks.get(7).findProviders(cid)).providers().size() >= 2, "two providers");
        // a key nobody provides
        assertThat(get(ks.get(6).findProviders(utf8("nothing"))).providers()).isEmpty();
    }

    @Test
    void clientModeNodeQueriesButIsNotInAnyTable() throws Exception {
        List<Kademlia> servers = network(5, FAST);
        for (Kademlia k : servers.subList(1, servers.size())) get(k.bootstrap());
        Kademlia client = kad(node(), FAST.toBuilder().mode(KadConfig.Mode.CLIENT).build());
        get(client.host().connect(nodes.get(0).addresses().get(0)));
        awaitTrue(() -> get(client.inspect(t -> t.size() > 0)), "client's table has a server");
        Kademlia.LookupResult r = get(client.bootstrap());
        assertThat(r.closest()).hasSizeGreaterThanOrEqualTo(4);
        Kademlia.FindPeerResult f = get(client.findPeer(servers.get(4).self()));
        assertThat(f.peer().id()).isEqualTo(servers.get(4).self());
        for (Kademlia s : servers) {
            assertThat(knows(s, client.self())).as("server knows the client").isFalse();
            assertThat(s.host().counters().get("kad.inbound.request.find_node")).isNotNegative();
        }
        // the client serves nobody: the protocol is not registered
        assertThatThrownBy(() -> get(servers.get(0).ping(client.self())))
                .hasRootCauseInstanceOf(io.peersocket.negotiation.ProtocolNotSupportedException.class);
    }

    // ---- bad input -------------------------------------------------------------------------------

    /** A raw kad stream: collects answer frames; {@code closed} completes when the stream is gone. */
    static final class Raw implements StreamHandler {
        final FrameDecoder decoder = new FrameDecoder(1 << 20);
        final List<KadMessage> answers = java.util.Collections.synchronizedList(new ArrayList<>());
        final CompletableFuture<Throwable> closed = new CompletableFuture<>();

        @Override public void onData(Stream s, byte[] data) {
            decoder.feed(data, f -> answers.add(KadCodec.decode(f)));
        }

        @Override public void onClosed(Stream s, Throwable cause) {
            closed.complete(cause == null ? new RuntimeException("clean close") : cause);
        }
    }

    private Stream open(Node from, PeerId to, Raw raw) throws Exception {
        return get(from.openStream(to, Kademlia.PROTOCOL_ID, raw));
    }

    @Test
    void oversizedAndMalformedMessagesResetTheStreamAndAreCounted() throws Exception {
        Kademlia server = kad(node(), FAST);
        Node attacker = node();
        get(attacker.connect(nodes.get(0).addresses().get(0)));

        Raw oversized = new Raw();
        open(attacker, server.self(), oversized).write(Varint.encode(KadCodec.MAX_MESSAGE_BYTES + 1));
        get(oversized.closed);
        Raw malformed = new Raw();
        open(attacker, server.self(), malformed).write(FrameDecoder.frame(new byte[] {(byte) 0xff, (byte) 0xff, 0x01}));
        get(malformed.closed);
        Raw longKey = new Raw();
        open(attacker, server.self(), longKey).write(FrameDecoder.frame(
                io.peersocket.protocol.kad.pb.DhtProto.Message.newBuilder().setTypeValue(4)
                        .setKey(com.google.protobuf.ByteString.copyFrom(new byte[1000])).build().toByteArray()));
        get(longKey.closed);
        awaitTrue(() -> server.host().counters().get("kad.inbound.malformed") == 3, "3 malformed counted");

        // a record without a validator is refused and counted
        Raw badRecord = new Raw();
        byte[] key = utf8("/unknown/x");
        open(attacker, server.self(), badRecord).write(FrameDecoder.frame(KadCodec.encode(
                KadMessage.of(KadMessage.Type.PUT_VALUE, key).withRecord(new KadRecord(key, utf8("v"), "")))));
        get(badRecord.closed);
        awaitTrue(() -> server.host().counters().get("kad.inbound.record_rejected") == 1, "record rejected");
        byte[] stored = get(server.inspect(t -> server.localValue(key)));
        assertThat(stored).isNull();

        // an ADD_PROVIDER for someone else is ignored
        Raw spoof = new Raw();
        Stream s = open(attacker, server.self(), spoof);
        s.write(FrameDecoder.frame(KadCodec.encode(KadMessage.of(KadMessage.Type.ADD_PROVIDER, utf8("cid"))
                .withProviderPeers(List.of(new KadPeer(TestPeers.random(new java.util.Random(1)), List.of(), KadPeer.ConnectionType.CONNECTED))))));
        s.closeWrite();
        awaitTrue(() -> server.host().counters().get("kad.inbound.provider_rejected") == 1, "spoofed provider ignored");
        List<PeerId> providers = get(server.inspect(t -> server.localProviders(utf8("cid"))));
        assertThat(providers).isEmpty();

        // a genuine announcement (addresses with /p2p/, as js-libp2p sends them) is stored without the suffix
        io.peersocket.multiaddr.Multiaddr announced = io.peersocket.multiaddr.Multiaddr.parse("/ip4/127.0.0.1/udp/9/quic-v1")
                .withPeerId(attacker.peerId());
        Stream add = open(attacker, server.self(), new Raw());
        add.write(FrameDecoder.frame(KadCodec.encode(KadMessage.of(KadMessage.Type.ADD_PROVIDER, utf8("cid"))
                .withProviderPeers(List.of(new KadPeer(attacker.peerId(), List.of(announced), KadPeer.ConnectionType.CONNECTED))))));
        add.closeWrite();
        awaitTrue(() -> server.host().counters().get("kad.provider.stored") == 1, "provider stored");
        Raw providersOf = new Raw();
        open(attacker, server.self(), providersOf).write(FrameDecoder.frame(KadCodec.encode(
                KadMessage.of(KadMessage.Type.GET_PROVIDERS, utf8("cid")))));
        awaitTrue(() -> providersOf.answers.size() == 1, "GET_PROVIDERS answer");
        assertThat(providersOf.answers.get(0).providerPeers()).containsExactly(
                new KadPeer(attacker.peerId(), List.of(announced.withoutPeerId()), KadPeer.ConnectionType.CONNECTED));

        // the server still works
        Raw ok = new Raw();
        open(attacker, server.self(), ok).write(FrameDecoder.frame(KadCodec.encode(KadMessage.of(KadMessage.Type.PING, new byte[0]))));
        awaitTrue(() -> ok.answers.size() == 1, "ping answer");
        assertThat(ok.answers.get(0).type()).isEqualTo(KadMessage.Type.PING);
    }

    @Test
    void floodOfFindNodeHitsThePerPeerRateLimit() throws Exception {
        Kademlia server = kad(node(), FAST.toBuilder().inboundRateLimit(0.01, 10).build());
        Node attacker = node();
        get(attacker.connect(nodes.get(0).addresses().get(0)));
        byte[] one = FrameDecoder.frame(KadCodec.encode(KadMessage.of(KadMessage.Type.FIND_NODE, attacker.peerId().toBytes())));
        java.io.ByteArrayOutputStream flood = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < 200; i++) flood.writeBytes(one);
        Raw raw = new Raw();
        open(attacker, server.self(), raw).write(flood.toByteArray());
        get(raw.closed);
        awaitTrue(() -> server.host().counters().get("kad.inbound.rate_limited") == 1, "rate limit counted");
        assertThat(server.host().counters().get("kad.inbound.request.find_node")).isEqualTo(10);
        assertThat(raw.answers.size()).isLessThanOrEqualTo(10);
        // a second stream right away is limited as well: the budget is per peer, not per stream
        Raw again = new Raw();
        open(attacker, server.self(), again).write(one);
        get(again.closed);
        awaitTrue(() -> server.host().counters().get("kad.inbound.rate_limited") == 2, "second stream limited");
    }

    @Test
    void garbageAndHugeAnswersAreBoundedAndCounted() throws Exception {
        // Two fake kad servers: one answers every request with 1,000 closer peers, one with garbage.
        Node flooder = node(), garbler = node();
        byte[][] floodAnswer = new byte[1][];
        flooder.registerProtocol(Kademlia.PROTOCOL_ID, (stream, id) -> (s, data) -> {
            s.write(FrameDecoder.frame(floodAnswer[0]));
        });
        garbler.registerProtocol(Kademlia.PROTOCOL_ID, (stream, id) -> (s, data) -> s.write(FrameDecoder.frame(new byte[] {(byte) 0xff, 0x13, 0x37})));
        io.peersocket.protocol.kad.pb.DhtProto.Message.Builder b = io.peersocket.protocol.kad.pb.DhtProto.Message.newBuilder().setTypeValue(4);
        java.util.Random rnd = new java.util.Random(11);
        for (int i = 0; i < 1000; i++) {
            b.addCloserPeers(io.peersocket.protocol.kad.pb.DhtProto.Message.Peer.newBuilder()
                    .setId(com.google.protobuf.ByteString.copyFrom(TestPeers.random(rnd).toBytes())));
        }
        floodAnswer[0] = b.build().toByteArray();

        Kademlia victim = kad(node(), FAST);
        get(victim.host().connect(flooder.addresses().get(0)));
        get(victim.host().connect(garbler.addresses().get(0)));
        awaitTrue(() -> get(victim.inspect(t -> t.isMember(flooder.peerId()) && t.isMember(garbler.peerId()))), "fakes in table");

        Kademlia.LookupResult r = get(victim.getClosestPeers(utf8("anything")));
        assertThat(r.closest()).extracting(KadPeer::id).containsExactly(flooder.peerId());
        assertThat(victim.host().counters().get("kad.response.dropped_peers")).isEqualTo(1000 - KadCodec.MAX_PEERS);
        assertThat(victim.host().counters().get("kad.response.malformed")).isEqualTo(1);
        int known = get(victim.inspect(RoutingTable::knownCount));
        assertThat(known).isLessThanOrEqualTo(2 + KadCodec.MAX_PEERS);
        // the garbler failed a query and left the table; the 20 address-less peers could not be asked
        assertThat(knows(victim, garbler.peerId())).isFalse();
        assertThat(r.stats().failed()).isGreaterThanOrEqualTo(1 + KadCodec.MAX_PEERS);
    }

    @Test
    void requestsTimeOutWhenTheRemoteNeverAnswers() throws Exception {
        Node silent = node();
        silent.registerProtocol(Kademlia.PROTOCOL_ID, (stream, id) -> (s, data) -> {});
        Kademlia k = kad(node(), FAST.toBuilder().requestTimeoutMs(300).build());
        get(k.host().connect(silent.addresses().get(0)));
        awaitTrue(() -> get(k.inspect(t -> t.isMember(silent.peerId()))), "silent peer in table");
        assertThatThrownBy(() -> get(k.ping(silent.peerId()))).hasCauseInstanceOf(KadException.class)
                .hasMessageContaining("timed out after 300 ms");
        assertThat(k.host().counters().get("kad.outbound.timeout")).isEqualTo(1);
        Kademlia.LookupResult r = get(k.getClosestPeers(utf8("x")));
        assertThat(r.closest()).isEmpty();
        assertThat(r.stats().failed()).isEqualTo(1);
        assertThat(knows(k, silent.peerId())).isFalse(); // failed queries remove the peer
    }
}
