package io.peersocket.transport.quic;

import static org.assertj.core.api.Assertions.assertThatCode;

import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Resetting or closing a stream after its transport closed (its Netty loop is gone) is a quiet no-op. */
class StreamAfterTransportCloseTest {

    @Test
    void resetAndCloseAfterTransportCloseDoNotThrow() throws Exception {
        try (TestNode a = new TestNode(); TestNode b = new TestNode()) {
            a.listen();
            b.listen();
            Connection c = a.dial(b);
            Stream reset = c.openStream(new TestNode.Collector()).get(10, TimeUnit.SECONDS);
            Stream closed = c.openStream(new TestNode.Collector()).get(10, TimeUnit.SECONDS);

            a.transport.close();

            assertThatCode(reset::reset).doesNotThrowAnyException();
            assertThatCode(closed::close).doesNotThrowAnyException();
        }
    }
}
