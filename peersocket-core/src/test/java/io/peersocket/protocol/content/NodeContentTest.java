package io.peersocket.protocol.content;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.content.Chunk;
import io.peersocket.node.Node;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The content protocols as a node runs them ({@code NodeBuilder.content}): real QUIC on loopback, the SQLite chunk
 * store and the {@code sync_intervals} table. A downstream syncs, restarts from its data dir and resumes where it
 * left off; then retrieves a chunk it does not sync.
 */
class NodeContentTest {

    private static Node start(Path dir) throws Exception {
        return Node.builder().dataDir(dir).content(ContentConfig.defaults()).redialOnStart(0).start();
    }

    private static CountDownLatch stored(Node n, int count) {
        CountDownLatch l = new CountDownLatch(count);
        n.chunks().addListener(s -> l.countDown());
        return l;
    }

    @Test
    void pullSyncResumesAfterARestartFromPersistedIntervals(@TempDir Path up, @TempDir Path down) throws Exception {
        List<Chunk> first = ContentNet.randomChunks(30, 31), second = ContentNet.randomChunks(5, 32);
        try (Node upstream = start(up)) {
            upstream.chunks().putAll(first, true).get(10, TimeUnit.SECONDS);
            try (Node d = start(down)) {
                CountDownLatch got = stored(d, 30);
                d.connect(upstream.addresses().get(0)).get(10, TimeUnit.SECONDS);
                assertThat(got.await(30, TimeUnit.SECONDS)).as(d.counters().snapshot().toString()).isTrue();
                assertThat(d.counters().get("content.sync.delivered")).isEqualTo(30);
            }
            upstream.chunks().putAll(second, true).get(10, TimeUnit.SECONDS);
            try (Node d = start(down)) {
                CountDownLatch got = stored(d, 5);
                d.connect(upstream.addresses().get(0)).get(10, TimeUnit.SECONDS);
                assertThat(got.await(30, TimeUnit.SECONDS)).as(d.counters().snapshot().toString()).isTrue();
                assertThat(d.chunks().size()).isEqualTo(35);
                // only the new chunks were offered and sent: the first 30 were covered by the stored intervals
                assertThat(d.counters().get("content.sync.offered")).isEqualTo(5);
                assertThat(d.counters().get("content.sync.delivered")).isEqualTo(5);
                assertThat(d.counters().get("content.sync.duplicates")).isZero();
                // retrieval through the content API of the node
                Chunk extra = ContentNet.randomChunks(1, 33).get(0);
                upstream.chunks().put(extra, true).get(10, TimeUnit.SECONDS);
                assertThat(d.content().retrieve(extra.address()).get(20, TimeUnit.SECONDS)).isEqualTo(extra);
            }
        }
    }
}
