package io.peersocket.protocol.content;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.content.Chunk;
import io.peersocket.content.ChunkAddress;
import io.peersocket.identity.PeerId;
import io.peersocket.transport.memory.MemoryNetwork;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/** Retrieval and push sync on small hand-built topologies (pull sync off, so only they move chunks). */
class RetrievalTest {
    static final ContentConfig NO_PULL = ContentConfig.defaults().withPullSync(false);

    @Test
    void forwardsHopByHopDeduplicatesAndCaches() {
        try (ContentNet net = new ContentNet(4, NO_PULL, 10)) {
            // 0 and 1 request through 2; 3 holds the chunk near its own overlay; 0 and 1 are not connected to 3
            ContentNet.Peer storer = net.get(3), middle = net.get(2);
            Chunk chunk = ContentNet.chunkNear(storer.content.overlay(), 16, 5);
            storer.chunks.put(chunk, true);
            net.connect(0, 2);
            net.connect(1, 2);
            net.connect(2, 3);
            net.loop.advance(500);
            CompletableFuture<Chunk> a = net.get(0).content.retrieve(chunk.address());
            CompletableFuture<Chunk> b = net.get(1).content.retrieve(chunk.address());
            assertThat(net.await(a, 10_000)).isEqualTo(chunk);
            assertThat(net.await(b, 10_000)).isEqualTo(chunk);
            assertThat(middle.node.counters().get("content.retrieval.forwarded")).isEqualTo(1);
            assertThat(middle.node.counters().get("content.retrieval.deduplicated")).isEqualTo(1);
            assertThat(storer.node.counters().get("content.retrieval.served")).isEqualTo(1);
            assertThat(middle.chunks.contains(chunk.address())).as("cached on the way").isTrue();
            assertThat(net.get(0).chunks.contains(chunk.address())).isTrue();
            // now served from the cache of the middle node
            CompletableFuture<Chunk> again = net.get(1).content.retrieve(chunk.address());
            assertThat(net.await(again, 10_000)).isEqualTo(chunk);
            assertThat(net.get(1).node.counters().get("content.retrieval.local")).isEqualTo(1);
        }
    }

    @Test
    void aMissingChunkFailsWithAClearError() {
        try (ContentNet net = new ContentNet(3, NO_PULL, 10)) {
            net.connectAll();
            Chunk nobody = ContentNet.randomChunks(1, 9).get(0);
            CompletableFuture<Chunk> f = net.get(0).content.retrieve(nobody.address());
            assertThatThrownBy(() -> net.await(f, 60_000)).isInstanceOf(CompletionException.class)
                    .hasCauseInstanceOf(ContentException.class).hasMessageContaining("not retrieved");
        }
    }

    @Test
    void aPeerThatNeverAnswersTimesOutIsCancelledAndAnotherPeerIsTried() {
        try (ContentNet net = new ContentNet(2, NO_PULL.withHopTimeoutMs(200), 10)) {
            java.util.List<ContentCodec.Msg> seen = new java.util.ArrayList<>();
            try (FakePeer hole = new FakePeer(net, 10, (self, proto, from, m) -> seen.add(m))) {
                Chunk chunk = ContentNet.chunkNear(ChunkAddress.overlayOf(hole.id()), 16, 6);
                net.get(1).chunks.put(chunk, true);
                net.connect(0, 1);
                net.await(net.get(0).node.connect(MemoryNetwork.address(11).withPeerId(hole.id())), 5_000);
                net.loop.advance(500);
                assertThat(net.get(0).content.peers()).contains(hole.id());
                CompletableFuture<Chunk> f = net.get(0).content.retrieve(chunk.address());
                assertThat(net.await(f, 30_000)).isEqualTo(chunk);
                net.loop.advance(100);
                assertThat(net.get(0).node.counters().get("content.retrieval.timeout")).isEqualTo(1);
                assertThat(seen).hasSize(2).satisfies(l -> {
                    assertThat(l.get(0)).isInstanceOf(ContentCodec.Retrieve.class);
                    assertThat(l.get(1)).isInstanceOf(ContentCodec.Cancel.class); // the late request is cancelled
                });
                assertThat(net.get(0).content.reputation().score(hole.id())).isNegative();
            }
        }
    }

    @Test
    void aChunkThatDoesNotMatchItsAddressIsRejectedAndNeverStored() {
        try (ContentNet net = new ContentNet(2, NO_PULL, 10)) {
            Chunk junk = ContentNet.randomChunks(1, 77).get(0);
            try (FakePeer liar = new FakePeer(net, 10, (self, proto, from, m) -> {
                if (m instanceof ContentCodec.Retrieve r) self.send(proto, from, new ContentCodec.Deliver(r.id(), junk.data()));
            })) {
                Chunk chunk = ContentNet.chunkNear(ChunkAddress.overlayOf(liar.id()), 16, 7);
                net.get(1).chunks.put(chunk, true);
                net.connect(0, 1);
                net.await(net.get(0).node.connect(MemoryNetwork.address(11).withPeerId(liar.id())), 5_000);
                net.loop.advance(500);
                assertThat(net.await(net.get(0).content.retrieve(chunk.address()), 30_000)).isEqualTo(chunk);
                assertThat(net.get(0).node.counters().get("content.retrieval.invalid_chunk")).isEqualTo(1);
                assertThat(net.get(0).node.counters().get("content.reputation.penalty.invalid_chunk")).isEqualTo(1);
                assertThat(net.get(0).chunks.size()).isEqualTo(1);
                assertThat(net.get(0).chunks.contains(junk.address())).isFalse();
            }
        }
    }

    @Test
    void pushReachesTheStorerWhichSignsAReceipt() {
        try (ContentNet net = new ContentNet(4, NO_PULL, 10)) {
            ContentNet.Peer storer = net.get(3);
            Chunk chunk = ContentNet.chunkNear(storer.content.overlay(), 16, 8);
            // a chain in order of decreasing distance to the chunk, so each hop has a closer peer
            java.util.List<Integer> order = new java.util.ArrayList<>(java.util.List.of(0, 1, 2));
            byte[] a = chunk.address().toBytes();
            order.sort((x, y) -> -Content.compareDistance(a, net.get(x).content.overlay(), net.get(y).content.overlay()));
            net.connect(order.get(0), order.get(1));
            net.connect(order.get(1), order.get(2));
            net.connect(order.get(2), 3);
            net.loop.advance(500);
            Receipt r = net.await(net.get(order.get(0)).content.push(chunk), 20_000);
            assertThat(net.get(order.get(1)).node.counters().get("content.push.forwarded")).isEqualTo(1);
            assertThat(r.storer()).isEqualTo(storer.id());
            assertThat(r.address()).isEqualTo(chunk.address());
            assertThat(r.verify()).isTrue();
            assertThat(new Receipt(r.address(), net.get(1).id(), r.signature()).verify()).as("not someone else's").isFalse();
            assertThat(storer.chunks.contains(chunk.address())).isTrue();
            assertThat(net.get(order.get(0)).chunks.contains(chunk.address())).as("the pusher keeps its own copy").isTrue();
        }
    }

    @Test
    void aPushWhoseChunkDoesNotMatchItsAddressIsRefused() {
        try (ContentNet net = new ContentNet(1, NO_PULL, 10)) {
            java.util.List<ContentCodec.Msg> answers = new java.util.ArrayList<>();
            try (FakePeer pusher = new FakePeer(net, 10, (self, proto, from, m) -> answers.add(m))) {
                net.await(pusher.node.connect(MemoryNetwork.address(1).withPeerId(net.get(0).id())), 5_000);
                net.loop.advance(200);
                Chunk a = ContentNet.randomChunks(1, 1).get(0), b = ContentNet.randomChunks(1, 2).get(0);
                pusher.send(Content.PUSHSYNC_ID, net.get(0).id(), new ContentCodec.Push(5, 3, a.address().toBytes(), b.data()));
                net.loop.advance(500);
                assertThat(answers).containsExactly(new ContentCodec.PushFailed(5, ContentCodec.REASON_INVALID));
                assertThat(net.get(0).chunks.size()).isZero();
                assertThat(net.get(0).node.counters().get("content.push.invalid_chunk")).isEqualTo(1);
                PeerId p = pusher.id();
                assertThat(net.get(0).content.reputation().score(p)).isNegative();
            }
        }
    }
}
