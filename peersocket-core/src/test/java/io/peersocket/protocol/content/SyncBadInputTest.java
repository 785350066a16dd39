package io.peersocket.protocol.content;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.content.Chunk;
import io.peersocket.content.ChunkAddress;
import io.peersocket.identity.PeerId;
import io.peersocket.transport.memory.MemoryNetwork;
import io.peersocket.util.FrameDecoder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A downstream (node 0) syncing from an honest upstream (node 1, which has the chunks) and from a fake upstream that
 * offers the same chunks and then misbehaves. Whatever the fake does, the downstream ends with every chunk, each
 * transferred once, nothing corrupt stored, the offence counted and the fake's reputation lowered.
 */
class SyncBadInputTest {
    static final int N = 20;

    /** Runs the scenario with {@code onWant} deciding what the fake does after a WANT (or other message). */
    private static ContentNet.Peer run(ContentNet net, List<Chunk> chunks, FakePeer.Script script, FakePeer[] out) {
        for (Chunk c : chunks) net.get(1).chunks.put(c, true);
        FakePeer fake = new FakePeer(net, 10, script);
        out[0] = fake;
        // the fake is connected first, so its offers arrive before the honest peer's
        net.await(net.get(0).node.connect(MemoryNetwork.address(11).withPeerId(fake.id())), 5_000);
        net.loop.advance(300);
        net.connect(0, 1);
        return net.get(0);
    }

    /** A fake upstream: answers SUBSCRIBE with cursors and historical GETs with offers of {@code chunks}. */
    static FakePeer.Script offering(List<Chunk> chunks, FakePeer.Script afterOffer) {
        return (self, proto, from, m) -> {
            switch (m) {
                case ContentCodec.Subscribe s -> {
                    long[] lasts = new long[s.hi() - s.lo() + 1];
                    lasts[0] = chunks.size(); // everything in the first bin asked for
                    self.send(proto, from, new ContentCodec.Cursor(s.lo(), lasts));
                }
                case ContentCodec.Get g when g.kind() == ContentCodec.HISTORICAL -> {
                    long[] idx = new long[chunks.size()];
                    long[] as = new long[chunks.size()];
                    for (int i = 0; i < idx.length; i++) {
                        idx[i] = i + 1;
                        as[i] = ContentCodec.prefix(chunks.get(i).address());
                    }
                    self.send(proto, from, new ContentCodec.Offer(g.bin(), g.kind(), g.from(), g.to(), idx, as));
                }
                default -> afterOffer.on(self, proto, from, m);
            }
        };
    }

    private static void assertRecovered(ContentNet net, List<Chunk> chunks, FakePeer fake) {
        ContentNet.Peer d = net.get(0);
        assertThat(net.runUntil(() -> chunks.stream().allMatch(c -> d.chunks.contains(c.address())), 120_000))
                .as(d.node.counters().snapshot().toString()).isTrue();
        net.loop.advance(3_000);
        assertThat(d.node.counters().get("content.sync.duplicates")).isZero();
        assertThat(d.content.reputation().score(fake.id())).isNegative();
    }

    @Test
    void anUpstreamThatNeverDeliversIsNackedUntilShunned() {
        try (ContentNet net = new ContentNet(2, ContentConfig.defaults().withNack(500, 2).withHopTimeoutMs(300), 10)) {
            List<Chunk> chunks = ContentNet.randomChunks(N, 21);
            List<ContentCodec.Nack> nacks = new ArrayList<>();
            FakePeer[] fake = new FakePeer[1];
            run(net, chunks, offering(chunks, (self, proto, from, m) -> {
                if (m instanceof ContentCodec.Nack n) nacks.add(n);
            }), fake);
            assertRecovered(net, chunks, fake[0]);
            // two NACK rounds per attempt; each failed attempt costs reputation until the fake is shunned and the
            // honest upstream's offers win
            assertThat(nacks.size()).isEven().isPositive();
            assertThat(net.get(0).node.counters().get("content.sync.undelivered")).isPositive();
            assertThat(net.get(0).node.counters().get("content.sync.batch_failed")).isPositive();
            fake[0].close();
        }
    }

    @Test
    void deliveredChunksThatDoNotMatchTheirAddressAreRejected() {
        try (ContentNet net = new ContentNet(2, ContentConfig.defaults().withHopTimeoutMs(300), 10)) {
            List<Chunk> chunks = ContentNet.randomChunks(N, 22);
            Chunk junk = ContentNet.randomChunks(1, 99).get(0);
            FakePeer[] fake = new FakePeer[1];
            run(net, chunks, offering(chunks, (self, proto, from, m) -> {
                if (m instanceof ContentCodec.Want w) {
                    for (int i = 0; i < N; i++) {
                        if (w.wanted(i)) self.send(proto, from, new ContentCodec.Delivery(w.bin(), w.kind(), w.to(), i, 0, false, junk.data()));
                    }
                }
            }), fake);
            assertRecovered(net, chunks, fake[0]);
            assertThat(net.get(0).node.counters().get("content.sync.invalid_chunk")).isPositive();
            assertThat(net.get(0).chunks.contains(junk.address())).as("nothing corrupt stored").isFalse();
            assertThat(net.get(0).chunks.size()).isEqualTo(N);
            fake[0].close();
        }
    }

    @Test
    void offersThatLieAboutTheirRangeOrAreMalformedResetTheStream() {
        try (ContentNet net = new ContentNet(2, ContentConfig.defaults().withHopTimeoutMs(300), 10)) {
            List<Chunk> chunks = ContentNet.randomChunks(N, 23);
            FakePeer[] fake = new FakePeer[1];
            FakePeer.Script liar = (self, proto, from, m) -> {
                switch (m) {
                    case ContentCodec.Subscribe s -> {
                        long[] lasts = new long[s.hi() - s.lo() + 1];
                        lasts[0] = 50;
                        self.send(proto, from, new ContentCodec.Cursor(s.lo(), lasts));
                    }
                    case ContentCodec.Get g when g.kind() == ContentCodec.HISTORICAL -> {
                        // answers a different range than asked, then garbage
                        self.send(proto, from, new ContentCodec.Offer(g.bin(), g.kind(), g.from() + 7, g.to() + 100, new long[0], new long[0]));
                        self.sendRaw(proto, from, FrameDecoder.frame(new byte[] {0x23, 1, 1, 0, 5, (byte) 200, 1}));
                    }
                    default -> { }
                }
            };
            run(net, chunks, liar, fake);
            assertRecovered(net, chunks, fake[0]);
            assertThat(net.get(0).node.counters().get("content.sync.offer_mismatch")).isEqualTo(1);
            assertThat(net.get(0).node.counters().get("content.sync.malformed")).isPositive();
            fake[0].close();
        }
    }
}
