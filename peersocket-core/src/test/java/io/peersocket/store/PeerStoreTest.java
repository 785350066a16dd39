package io.peersocket.store;

import static io.peersocket.store.StoreTest.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeerStoreTest {
    static final String A = "12D3KooWAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    static final String B = "12D3KooWBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    static final String C = "12D3KooWCccccccccccccccccccccccccccccccccccccccccccc";
    static final String D = "12D3KooWDddddddddddddddddddddddddddddddddddddddddddd";
    static final String E = "12D3KooWEeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";

    @TempDir
    Path dir;

    static String addr(int port) {
        return "/ip4/127.0.0.1/udp/" + port + "/quic-v1";
    }

    @Test
    void restartKeepsPeersInRecencyOrder() throws Exception {
        try (Store store = Store.open(dir)) {
            PeerStore peers = store.peers();
            peers.recordConnected(A, List.of(addr(1001)), 100);
            peers.recordConnected(B, List.of(addr(1002), addr(1003)), 300);
            peers.recordConnected(C, List.of(addr(1004)), 200);
            peers.recordAddresses(D, List.of(addr(1005)), 400, "peer-exchange"); // never connected
            peers.recordDialFailure(E, 50); // never connected, seen at 50
            peers.recordDialFailure(A, 150);
            peers.recordDialFailure(A, 160);
            peers.setAgent(B, "peersocket/0.1.0", 300);
            peers.setPublicKey(C, new byte[] {8, 1, 18, 32, 7}, 200);
            // close() commits without anyone waiting on these futures
        }
        try (Store store = Store.open(dir)) {
            List<PeerRecord> known = await(store.peers().knownPeers(100));
            assertThat(known).extracting(PeerRecord::peerId).containsExactly(B, C, A, D, E);

            PeerRecord b = known.get(0);
            assertThat(b.lastConnectedMs()).isEqualTo(300);
            assertThat(b.lastSeenMs()).isEqualTo(300);
            assertThat(b.agent()).isEqualTo("peersocket/0.1.0");
            assertThat(b.addresses()).containsExactlyInAnyOrder(addr(1002), addr(1003));
            assertThat(b.knownAddresses()).allMatch(k -> k.source().equals(PeerStore.SOURCE_CONNECTED));

            PeerRecord c = known.get(1);
            assertThat(c.publicKey()).containsExactly(8, 1, 18, 32, 7);

            PeerRecord a = known.get(2);
            assertThat(a.failures()).isEqualTo(2);
            assertThat(a.lastFailureMs()).isEqualTo(160);
            assertThat(a.lastSeenMs()).isEqualTo(100);

            PeerRecord d = known.get(3);
            assertThat(d.hasConnected()).isFalse();
            assertThat(d.lastConnectedMs()).isEqualTo(PeerRecord.NEVER);
            assertThat(d.knownAddresses()).containsExactly(new KnownAddress(addr(1005), 400, 400, "peer-exchange"));

            PeerRecord e = known.get(4);
            assertThat(e.failures()).isEqualTo(1);
            assertThat(e.firstSeenMs()).isEqualTo(50);
            assertThat(e.addresses()).isEmpty();

            assertThat(await(store.peers().knownPeers(2))).extracting(PeerRecord::peerId).containsExactly(B, C);
            assertThat(await(store.peers().knownPeers(0))).isEmpty();

            // A reconnects: it moves to the front and its failures reset.
            store.peers().recordConnected(A, List.of(), 500);
            List<PeerRecord> after = await(store.peers().knownPeers(100));
            assertThat(after).extracting(PeerRecord::peerId).containsExactly(A, B, C, D, E);
            assertThat(after.get(0).failures()).isZero();
            assertThat(after.get(0).lastFailureMs()).isEqualTo(160);
        }
    }

    @Test
    void pruneAddresslessForgetsOnlyOldPeersWithoutAddresses() throws Exception {
        try (Store store = Store.open(dir)) {
            PeerStore peers = store.peers();
            peers.recordConnected(A, List.of(), 100);          // inbound only, old: pruned
            peers.recordConnected(B, List.of(), 900);          // inbound only, recent: kept
            peers.recordConnected(C, List.of(addr(1)), 100);   // old but dialable: kept
            peers.recordDialFailure(D, 50);                    // no address, old: pruned
            assertThat(await(peers.pruneAddressless(500))).isEqualTo(2);
            assertThat(await(peers.peer(A))).isEmpty();
            assertThat(await(peers.peer(D))).isEmpty();
            assertThat(await(peers.peer(B))).isPresent();
            assertThat(await(peers.peer(C)).orElseThrow().addresses()).containsExactly(addr(1));
            assertThat(await(peers.pruneAddressless(500))).isZero();
        }
    }

    @Test
    void timesNeverMoveBackwards() throws Exception {
        try (Store store = Store.open(dir)) {
            PeerStore peers = store.peers();
            peers.recordConnected(A, List.of(addr(1)), 500);
            peers.recordConnected(A, List.of(addr(1)), 100); // late, out-of-order report
            peers.recordAddresses(A, List.of(addr(1)), 50, "dht");
            PeerRecord a = await(peers.peer(A)).orElseThrow();
            assertThat(a.lastConnectedMs()).isEqualTo(500);
            assertThat(a.lastSeenMs()).isEqualTo(500);
            assertThat(a.firstSeenMs()).isEqualTo(50);
            assertThat(a.knownAddresses()).containsExactly(
                    new KnownAddress(addr(1), 50, 500, PeerStore.SOURCE_CONNECTED));

            peers.recordAddresses(A, List.of(addr(1)), 600, "identify");
            assertThat(await(peers.peer(A)).orElseThrow().knownAddresses())
                    .containsExactly(new KnownAddress(addr(1), 50, 600, "identify"));
        }
    }

    @Test
    void keepsAtMost64AddressesDroppingTheOldest() throws Exception {
        try (Store store = Store.open(dir)) {
            PeerStore peers = store.peers();
            for (int i = 0; i < 100; i++) {
                peers.recordAddresses(A, List.of(addr(i)), 1_000 + i, "dht");
            }
            PeerRecord a = await(peers.peer(A)).orElseThrow();
            List<String> expected = new ArrayList<>(IntStream.range(36, 100).mapToObj(PeerStoreTest::addr).toList());
            Collections.reverse(expected);
            assertThat(a.addresses()).hasSize(PeerStore.MAX_ADDRESSES_PER_PEER).containsExactlyElementsOf(expected);

            // Re-seeing an old address keeps it and drops the now-oldest one instead.
            peers.recordAddresses(A, List.of(addr(36), addr(500)), 2_000, "dht");
            List<String> now = await(peers.peer(A)).orElseThrow().addresses();
            assertThat(now).hasSize(64).contains(addr(36), addr(500)).doesNotContain(addr(37));
            assertThat(now.subList(0, 2)).containsExactlyInAnyOrder(addr(36), addr(500));

            // A full list in one call replaces everything older.
            List<String> fresh = IntStream.range(0, 64).mapToObj(i -> addr(10_000 + i)).toList();
            peers.recordConnected(A, fresh, 3_000);
            assertThat(await(peers.peer(A)).orElseThrow().addresses()).containsExactlyInAnyOrderElementsOf(fresh);
        }
    }

    @Test
    void duplicateAddressesInOneCallAreStoredOnce() throws Exception {
        try (Store store = Store.open(dir)) {
            store.peers().recordAddresses(A, List.of(addr(1), addr(1), addr(2)), 10, "identify");
            assertThat(await(store.peers().peer(A)).orElseThrow().addresses())
                    .containsExactlyInAnyOrder(addr(1), addr(2));
        }
    }

    @Test
    void removeForgetsThePeerAndItsAddresses() throws Exception {
        try (Store store = Store.open(dir)) {
            store.peers().recordConnected(A, List.of(addr(1), addr(2)), 10);
            store.peers().recordConnected(B, List.of(addr(3)), 20);
            assertThat(await(store.peers().remove(A))).isTrue();
            assertThat(await(store.peers().remove(A))).isFalse();
            assertThat(await(store.peers().peer(A))).isEmpty();
            long rows = await(store.read("test.addresses", db -> {
                try (ResultSet rs = db.prepare("SELECT count(*) FROM peer_addresses").executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }));
            assertThat(rows).isEqualTo(1); // B's only: the foreign key cascaded
            assertThat(await(store.peers().count())).isEqualTo(1);
        }
    }

    @Test
    void rejectsOutOfBoundsArgumentsOnTheCallingThread() throws Exception {
        try (Store store = Store.open(dir)) {
            PeerStore peers = store.peers();
            String tooLong = "/" + "x".repeat(PeerStore.MAX_ADDRESS_LENGTH);
            assertThatThrownBy(() -> peers.recordConnected(A, List.of(addr(1), tooLong), 1))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("addrs[1]")
                    .hasMessageContaining("1025 chars");
            assertThatThrownBy(() -> peers.recordAddresses(A, List.of("ip4/1.2.3.4"), 1, "dht"))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("addrs[0]");
            List<String> tooMany = IntStream.range(0, 65).mapToObj(PeerStoreTest::addr).toList();
            assertThatThrownBy(() -> peers.recordAddresses(A, tooMany, 1, "dht"))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("65 multiaddrs");
            assertThatThrownBy(() -> peers.recordConnected("", List.of(), 1))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("peerId");
            assertThatThrownBy(() -> peers.recordConnected("p".repeat(257), List.of(), 1))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("peerId");
            assertThatThrownBy(() -> peers.recordDialFailure(A, -1))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("timeMs");
            assertThatThrownBy(() -> peers.setAgent(A, "a".repeat(257), 1))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("agent");
            assertThatThrownBy(() -> peers.recordAddresses(A, List.of(), 1, ""))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("source");
            assertThatThrownBy(() -> peers.setPublicKey(A, new byte[4097], 1))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("publicKey");
            assertThatThrownBy(() -> peers.knownPeers(-1)).isInstanceOf(IllegalArgumentException.class);
            assertThat(await(peers.count())).isZero();
        }
    }
}
