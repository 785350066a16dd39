package io.peersocket.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.content.Chunk;
import io.peersocket.content.ChunkAddress;
import io.peersocket.content.ChunkStoreConfig;
import io.peersocket.content.StoredChunk;
import io.peersocket.host.Host;
import io.peersocket.protocol.kad.KadKey;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The node's chunk store: present with a data dir, keyed by the Kademlia overlay, listeners on the event loop. */
class NodeChunksTest {
    private static final String LOOPBACK = "/ip4/127.0.0.1/udp/0/quic-v1";

    @Test
    void chunkStoreUsesTheKademliaKeyAsOverlayAndTheEventLoopForListeners(@TempDir Path dir) throws Exception {
        Chunk c = Chunk.of("chunks in the node's own database".getBytes(StandardCharsets.UTF_8));
        try (Node n = Node.builder().dataDir(dir.resolve("n")).listen(LOOPBACK)
                .chunks(ChunkStoreConfig.defaults().withCapacity(1234)).start()) {
            Host host = n;
            assertThat(host.chunks()).isSameAs(n.chunks()).isNotNull();
            assertThat(n.chunks().config().capacity()).isEqualTo(1234);
            assertThat(n.chunks().overlay()).isEqualTo(KadKey.of(n.peerId()).toBytes())
                    .isEqualTo(ChunkAddress.overlayOf(n.peerId()));
            CompletableFuture<Boolean> onLoop = new CompletableFuture<>();
            n.chunks().addListener(s -> onLoop.complete(n.loop().inEventLoop() && s.address().equals(c.address())));
            StoredChunk s = n.chunks().put(c, false).get(30, TimeUnit.SECONDS);
            assertThat(s.po()).isEqualTo(KadKey.of(n.peerId()).proximity(KadKey.fromBytes(c.address().toBytes())));
            assertThat(onLoop.get(30, TimeUnit.SECONDS)).isTrue();
        }
        // The chunk survives a restart of the node.
        try (Node n = Node.builder().dataDir(dir.resolve("n")).listen(LOOPBACK).start()) {
            assertThat(n.chunks().get(c.address()).get(30, TimeUnit.SECONDS)).isPresent();
            assertThat(n.chunks().size()).isEqualTo(1);
        }
        try (Node ephemeral = Node.builder().listen(LOOPBACK).start()) {
            assertThat(ephemeral.chunks()).isNull();
        }
    }
}
