package io.peersocket.protocol.kad;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.node.Node;
import io.peersocket.util.ManualEventLoop;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Record and provider expiry and republish on the loop's clock: real nodes over QUIC on loopback share one
 * {@link ManualEventLoop}, so Kademlia's timers run in virtual time the test advances, while the network runs
 * in real time (the test drives the loop until the answers are in).
 */
class KadRepublishTest {
    private static final long REAL_TIMEOUT_MS = 20_000;
    private final ManualEventLoop loop = new ManualEventLoop(1_000_000);
    private final List<Node> nodes = new ArrayList<>();
    private final List<Kademlia> kads = new ArrayList<>();

    @AfterEach
    void close() {
        for (Kademlia k : kads) k.close();
        for (Node n : nodes) n.close();
        loop.runPending();
    }

    private Kademlia start(KadConfig config) throws Exception {
        CompletableFuture<Node> f = CompletableFuture.supplyAsync(() -> {
            try {
                return Node.builder().eventLoop(loop).listen("/ip4/127.0.0.1/udp/0/quic-v1").start();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        loop.runUntil(f::isDone, REAL_TIMEOUT_MS); // the transport reports "listening" on the loop
        Node n = f.join();
        nodes.add(n);
        Kademlia k = new Kademlia(n, config);
        k.registerValidator("t", (key, value) -> {});
        kads.add(k);
        loop.runPending();
        return k;
    }

    private <T> T await(CompletableFuture<T> f) throws Exception {
        loop.runUntil(f::isDone, REAL_TIMEOUT_MS);
        return f.join();
    }

    @Test
    void recordsAndProvidersExpireUnlessRepublished() throws Exception {
        KadConfig config = KadConfig.builder()
                .recordTtlMs(10_000).providerTtlMs(10_000)
                .recordRepublishMs(6_000).providerRepublishMs(6_000)
                .cleanupIntervalMs(1_000).refreshIntervalMs(0)
                .requestTimeoutMs(5_000).build();
        Kademlia a = start(config), b = start(config);
        await(b.host().connect(a.host().listenAddresses().get(0).withPeerId(a.self())));
        loop.runUntil(() -> b.table().isMember(a.self()) && a.table().isMember(b.self()), REAL_TIMEOUT_MS);

        byte[] key = "/t/k".getBytes(StandardCharsets.UTF_8);
        byte[] cid = "cid".getBytes(StandardCharsets.UTF_8);
        long t0 = loop.nowMs();
        assertThat(await(b.putValue(key, "v".getBytes(StandardCharsets.UTF_8))).stored()).isEqualTo(1);
        assertThat(await(b.provide(cid)).announced()).isEqualTo(1);
        assertThat(a.localValue(key)).isNotNull();
        // ADD_PROVIDER has no answer: wait until a has handled it
        loop.runUntil(() -> a.providerExpiry(cid, b.self()) > 0, REAL_TIMEOUT_MS);
        assertThat(a.providerExpiry(cid, b.self())).isEqualTo(t0 + 10_000);

        // b republishes at t0 + 6 s: a's copies now live until t0 + 16 s
        loop.advance(6_000);
        loop.runUntil(() -> a.providerExpiry(cid, b.self()) == t0 + 16_000
                && a.host().counters().get("kad.record.stored") == 2, REAL_TIMEOUT_MS);
        assertThat(b.host().counters().get("kad.record.republished")).isEqualTo(1);
        assertThat(b.host().counters().get("kad.provider.republished")).isEqualTo(1);
        loop.advance(5_000); // t0 + 11 s: past the first expiry
        assertThat(a.localValue(key)).isNotNull();
        assertThat(a.localProviders(cid)).containsExactly(b.self());

        // b stops republishing; a's cleanup drops both after their TTL
        b.close();
        loop.runPending();
        loop.advance(6_000); // t0 + 17 s
        assertThat(a.localValue(key)).isNull();
        assertThat(a.localProviders(cid)).isEmpty();
        assertThat(a.host().counters().get("kad.record.expired")).isEqualTo(1);
        assertThat(a.host().counters().get("kad.provider.expired")).isEqualTo(1);
    }
}
