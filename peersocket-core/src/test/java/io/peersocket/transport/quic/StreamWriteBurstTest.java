package io.peersocket.transport.quic;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Writes issued back to back without waiting are coalesced on the loop into shared Netty writes: every byte still
 * arrives once, in order, before the FIN that follows them, and every write future completes.
 */
class StreamWriteBurstTest {

    @Test
    void burstOfWritesArrivesInOrderBeforeFin() throws Exception {
        try (TestNode a = new TestNode(); TestNode b = new TestNode()) {
            a.listen();
            b.listen();
            TestNode.Collector atB = new TestNode.Collector();
            b.streamHandlers = s -> atB;
            Connection c = a.dial(b);
            Stream s = c.openStream(new TestNode.Collector()).get(10, TimeUnit.SECONDS);

            ByteArrayOutputStream sent = new ByteArrayOutputStream();
            List<CompletableFuture<Void>> writes = new ArrayList<>();
            for (int i = 0; i < 5_000; i++) {
                byte[] msg = ("m" + i + ";").getBytes(StandardCharsets.US_ASCII);
                sent.writeBytes(msg);
                writes.add(s.write(msg));
                if (i % 1_000 == 0) { // large writes in between, so a drain splits at the coalescing limit
                    byte[] big = new byte[QuicStream.MAX_COALESCED_BYTES / 3 + i];
                    Arrays.fill(big, (byte) i);
                    sent.writeBytes(big);
                    writes.add(s.write(big));
                }
            }
            CompletableFuture<Void> fin = s.closeWrite();

            CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
            fin.get(20, TimeUnit.SECONDS);
            assertThat(atB.fin.get(20, TimeUnit.SECONDS)).isEqualTo(sent.toByteArray());
            assertThat(atB.order.get()).isEmpty();
            assertThat(a.violations).isEmpty();
            assertThat(b.violations).isEmpty();
        }
    }
}
