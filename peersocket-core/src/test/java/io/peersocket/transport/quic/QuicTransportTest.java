package io.peersocket.transport.quic;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import io.peersocket.transport.TransportConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class QuicTransportTest {
    private final List<TestNode> nodes = new ArrayList<>();

    private TestNode node() {
        return node(c -> c);
    }

    private TestNode node(UnaryOperator<TransportConfig> tweak) {
        TestNode n = new TestNode(tweak);
        nodes.add(n);
        return n;
    }

    @AfterEach
    void tearDown() {
        for (TestNode n : nodes) n.close();
        for (TestNode n : nodes) assertThat(n.violations).as("upcall rule violations").isEmpty();
    }

    @Test
    void dialAuthenticatesBothSides() throws Exception {
        TestNode a = node(), b = node();
        a.listen();
        b.listen();
        Connection ab = a.dial(b);
        assertThat(ab.remotePeer()).isEqualTo(b.peerId());
        assertThat(ab.remotePublicKey()).isEqualTo(b.key.publicKey());
        assertThat(ab.direction()).isEqualTo(Connection.Direction.OUTBOUND);
        assertThat(ab.isOpen()).isTrue();
        Connection ba = b.connections.poll(5, TimeUnit.SECONDS);
        assertThat(ba).isNotNull();
        assertThat(ba.remotePeer()).isEqualTo(a.peerId());
        assertThat(ba.direction()).isEqualTo(Connection.Direction.INBOUND);
        assertThat(a.connections.poll(5, TimeUnit.SECONDS)).isSameAs(ab);

        TestNode.Collector got = new TestNode.Collector();
        Stream s = ab.openStream(got).get(5, TimeUnit.SECONDS);
        s.write("hello".getBytes()).get(5, TimeUnit.SECONDS);
        s.closeWrite().get(5, TimeUnit.SECONDS);
        try {
            assertThat(new String(got.fin.get(5, TimeUnit.SECONDS))).isEqualTo("hello");
        } finally {
            System.err.println("DEBUG got=" + new String(got.bytes()) + " closed=" + got.closed + " inbound=" + b.inboundStreams);
        }
    }
}
