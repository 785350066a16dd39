package io.peersocket.transport.memory;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.TransportException;
import io.peersocket.transport.memory.MemoryNetwork.LinkConditions;
import io.peersocket.transport.memory.MemoryTransportTest.Peer;
import io.peersocket.util.ManualEventLoop;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link LinkModel} (latency per send, reachability, dial filtering) and {@link MemoryNetwork#breakConnections}. */
@Timeout(20)
class MemoryNetworkLinkModelTest {
    final ManualEventLoop loop = new ManualEventLoop(1_000);
    final MemoryNetwork net = new MemoryNetwork(42);

    /** A model with a latency per directed pair, a set of unreachable peers and a set of peers refusing dials. */
    static final class TestModel implements LinkModel {
        final List<String> calls = new ArrayList<>();
        final Set<PeerId> down = new HashSet<>();
        final Set<PeerId> behindNat = new HashSet<>();
        long latency = 7;

        @Override public LinkConditions conditions(PeerId from, PeerId to) {
            calls.add(from.shortString() + ">" + to.shortString());
            return new LinkConditions(latency, 0);
        }

        @Override public boolean reachable(PeerId from, PeerId to) { return !down.contains(from) && !down.contains(to); }

        @Override public boolean canDial(PeerId dialer, PeerId listener) {
            return LinkModel.super.canDial(dialer, listener) && !behindNat.contains(listener);
        }
    }

    /** Opens a stream on {@code c} (its future completes on the loop). */
    Stream open(Connection c, Peer owner) {
        CompletableFuture<Stream> f = c.openStream(owner.recorder("out"));
        loop.runPending();
        assertThat(f).isCompleted();
        return f.join();
    }

    static TransportException.Kind failureKind(CompletableFuture<?> f) {
        assertThat(f).isDone(); // never block: futures complete on the manual loop
        try {
            f.join();
        } catch (CompletionException e) {
            return ((TransportException) e.getCause()).kind();
        }
        throw new AssertionError("did not fail");
    }

    @Test
    void modelDecidesLatencyOfEverySendAndExplicitLinksOverrideIt() {
        TestModel model = new TestModel();
        net.setLinkModel(model);
        Peer a = new Peer(net, loop, 1), b = new Peer(net, loop, 2);
        Multiaddr bAddr = b.listen();
        CompletableFuture<Connection> f = a.transport.dial(bAddr, b.key.peerId());
        loop.advance(13);
        assertThat(f).isNotDone();
        loop.advance(1);
        assertThat(f).isCompleted(); // one round trip: 2 × 7 ms
        assertThat(model.calls).contains(a.key.peerId().shortString() + ">" + b.key.peerId().shortString());

        Stream s = open(f.join(), a);
        model.latency = 30;
        model.calls.clear();
        s.write("x".getBytes(StandardCharsets.UTF_8));
        loop.advance(29);
        assertThat(b.events).noneMatch(e -> e.contains("data"));
        loop.advance(1);
        assertThat(b.events).anyMatch(e -> e.contains("data") && e.endsWith(" x"));
        assertThat(model.calls).isNotEmpty();

        net.setLink(a.key.peerId(), b.key.peerId(), new LinkConditions(2, 0));
        model.calls.clear();
        s.write("y".getBytes(StandardCharsets.UTF_8));
        loop.advance(2);
        assertThat(b.events).anyMatch(e -> e.endsWith(" y"));
        assertThat(model.calls).isEmpty();
        net.setDefaultLink(LinkConditions.PERFECT); // drops the model
        assertThat(net.link(a.key.peerId(), key3())).isEqualTo(LinkConditions.PERFECT);
    }

    static PeerId key3() { return MemoryTransportTest.key(3).peerId(); }

    @Test
    void unreachableOrFilteredPeersTimeOutInsteadOfRefusing() {
        TestModel model = new TestModel();
        net.setLinkModel(model);
        Peer a = new Peer(net, loop, 1), b = new Peer(net, loop, 2), c = new Peer(net, loop, 3);
        Multiaddr bAddr = b.listen(), cAddr = c.listen();
        model.down.add(b.key.peerId());
        model.behindNat.add(c.key.peerId());
        CompletableFuture<Connection> toB = a.transport.dial(bAddr, b.key.peerId());
        CompletableFuture<Connection> toC = a.transport.dial(cAddr, c.key.peerId());
        loop.advance(9_999);
        assertThat(toB).isNotDone();
        assertThat(toC).isNotDone();
        loop.advance(1);
        assertThat(failureKind(toB)).isEqualTo(TransportException.Kind.TIMEOUT);
        assertThat(failureKind(toC)).isEqualTo(TransportException.Kind.TIMEOUT);
        assertThat(b.connections).isEmpty();
        // the peer behind the NAT can still dial out
        Multiaddr aAddr = a.listen();
        CompletableFuture<Connection> out = c.transport.dial(aAddr, a.key.peerId());
        loop.advance(20);
        assertThat(out).isCompleted();
        // a crashed peer that no longer listens: still a timeout (no answer), not a refusal
        b.transport.close();
        loop.runPending();
        CompletableFuture<Connection> again = a.transport.dial(bAddr, b.key.peerId());
        loop.advance(10_000);
        assertThat(failureKind(again)).isEqualTo(TransportException.Kind.TIMEOUT);
    }

    @Test
    void datagramsToUnreachablePeersAreLostAndCounted() {
        TestModel model = new TestModel();
        net.setLinkModel(model);
        Peer a = new Peer(net, loop, 1), b = new Peer(net, loop, 2);
        b.listen();
        CompletableFuture<Connection> f = a.transport.dial(b.transport.listenAddresses().get(0), b.key.peerId());
        loop.advance(100);
        assertThat(f).isCompleted();
        Connection c = f.join();
        assertThat(c.sendDatagram("one".getBytes(StandardCharsets.UTF_8))).isTrue();
        model.down.add(b.key.peerId());
        assertThat(c.sendDatagram("two".getBytes(StandardCharsets.UTF_8))).isTrue();
        loop.advance(100);
        assertThat(b.events).contains("dgram one").doesNotContain("dgram two");
        assertThat(net.datagramsSent()).isEqualTo(2);
        assertThat(net.datagramsLost()).isEqualTo(1);
    }

    @Test
    void breakConnectionsClosesBothSidesAtOnceAndAbandonsDials() {
        Peer a = new Peer(net, loop, 1), b = new Peer(net, loop, 2), c = new Peer(net, loop, 3);
        net.setDefaultLink(new LinkConditions(50, 0));
        Multiaddr bAddr = b.listen(), cAddr = c.listen();
        a.listen();
        CompletableFuture<Connection> ab = a.transport.dial(bAddr, b.key.peerId());
        CompletableFuture<Connection> ac = a.transport.dial(cAddr, c.key.peerId());
        loop.advance(100);
        assertThat(ab).isCompleted();
        assertThat(ac).isCompleted();
        assertThat(net.connectionCount()).isEqualTo(2);
        Stream s = open(ab.join(), a);
        s.write("lost".getBytes(StandardCharsets.UTF_8)); // in flight when the link breaks
        CompletableFuture<Connection> pending = b.transport.dial(cAddr, c.key.peerId());
        loop.advance(10);

        PeerId bId = b.key.peerId();
        int broken = net.breakConnections((x, y) -> x.equals(bId), "link broken: test");
        assertThat(broken).isEqualTo(2); // a–b and the pending b–c dial
        loop.runPending();
        assertThat(a.events).contains("connclosed link broken: test");
        assertThat(b.events).contains("connclosed link broken: test");
        assertThat(failureKind(pending)).isEqualTo(TransportException.Kind.CLOSED);
        assertThat(ac.join().isOpen()).isTrue(); // a–c untouched
        assertThat(net.connectionCount()).isEqualTo(1);
        loop.advance(1_000);
        assertThat(b.events).noneMatch(e -> e.contains("lost"));
        assertThat(c.connections).hasSize(1); // only a's; b's dial was abandoned before c accepted
        assertThat(a.threadViolations).isEmpty();
    }
}
