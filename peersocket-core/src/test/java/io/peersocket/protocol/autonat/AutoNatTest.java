package io.peersocket.protocol.autonat;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.identity.HostKey;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.negotiation.Multistream;
import io.peersocket.node.Node;
import io.peersocket.protocol.kad.KadConfig;
import io.peersocket.protocol.kad.Kademlia;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.util.FrameDecoder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** AutoNAT client, server and the node's reachability on the memory transport (virtual time). */
class AutoNatTest {
    private static final AutoNatConfig FAST = AutoNatConfig.defaults().withProbeIntervals(5_000, 60_000);

    @Test
    void publicNodeDecidesPublicAfterThreeAnswers() {
        try (AutoNatNet net = new AutoNatNet()) {
            Node subject = net.start(1, b -> b.autoNat(FAST));
            List<Node> servers = new ArrayList<>();
            for (int i = 0; i < 3; i++) servers.add(net.start(10 + i, b -> b.autoNat(FAST)));
            List<Reachability.State> seen = new ArrayList<>();
            subject.onReachabilityChange(seen::add);
            for (Node s : servers) net.connect(subject, s);
            net.awaitAdvancing(() -> subject.reachability() != Reachability.State.UNKNOWN, 1_000);
            assertThat(subject.reachability()).isEqualTo(Reachability.State.PUBLIC);
            assertThat(seen).containsExactly(Reachability.State.PUBLIC);
            assertThat(subject.counters().get("autonat.client.response.ok")).isGreaterThanOrEqualTo(3);
            long ok = servers.stream().mapToLong(s -> s.counters().get("autonat.server.dial.ok")).sum();
            assertThat(ok).isGreaterThanOrEqualTo(3);
            // The servers saw the subject at its listen address: three distinct peers confirm it.
            assertThat(subject.externalAddresses()).containsExactly(subject.listenAddresses().get(0));
        }
    }

    @Test
    void undialableNodeDecidesPrivateAndSwitchesDhtToClientMode() {
        try (AutoNatNet net = new AutoNatNet()) {
            Node subject = net.start(2, b -> b.autoNat(FAST).kademlia(KadConfig.defaults()));
            net.natted.add(subject.peerId());
            assertThat(subject.protocols()).contains(Kademlia.PROTOCOL_ID);
            for (int i = 0; i < 4; i++) net.connect(subject, net.start(20 + i, b -> b.autoNat(FAST)));
            net.awaitAdvancing(() -> subject.reachability() != Reachability.State.UNKNOWN, 1_000);
            assertThat(subject.reachability()).isEqualTo(Reachability.State.PRIVATE);
            assertThat(subject.counters().get("autonat.client.response.e_dial_error")).isGreaterThanOrEqualTo(3);
            net.await(() -> subject.kademlia().mode() == KadConfig.Mode.CLIENT);
            assertThat(subject.protocols()).doesNotContain(Kademlia.PROTOCOL_ID);
            // A later identify no longer offers the DHT.
            Node late = net.start(30, b -> b);
            net.connect(subject, late); // the subject is behind the NAT: it dials out
            assertThat(late.identifyInfo(subject.peerId()).protocols()).doesNotContain(Kademlia.PROTOCOL_ID);
        }
    }

    @Test
    void serverRefusesThirdPartyAddressesAndCountsThem() {
        try (AutoNatNet net = new AutoNatNet()) {
            Node server = net.start(3, b -> b.autoNat(FAST));
            Node client = net.start(4, b -> b);
            Node victim = net.start(5, b -> b);
            net.connect(client, server);
            AutoNatMessage.DialResponse r = request(net, client, server, AutoNatCodec.encode(
                    new AutoNatMessage.Dial(client.peerId(), List.of(victim.listenAddresses().get(0)), 0)));
            // Only the address the request came from is dialled, never the victim.
            assertThat(r.status()).isEqualTo(AutoNatMessage.Status.OK);
            assertThat(r.address()).isEqualTo(client.listenAddresses().get(0));
            assertThat(server.counters().get("autonat.server.refused.third_party")).isEqualTo(1);
            assertThat(victim.counters().get("node.connection.opened.inbound")).isZero();

            // Own address plus a third party: only the own one is dialled.
            AutoNatMessage.DialResponse mixed = request(net, client, server, AutoNatCodec.encode(new AutoNatMessage.Dial(
                    client.peerId(), List.of(victim.listenAddresses().get(0), client.listenAddresses().get(0)), 0)));
            assertThat(mixed.status()).isEqualTo(AutoNatMessage.Status.OK);
            assertThat(mixed.address()).isEqualTo(client.listenAddresses().get(0));
            assertThat(server.counters().get("autonat.server.refused.third_party")).isEqualTo(2);
            assertThat(victim.counters().get("node.connection.opened.inbound")).isZero();
        }
    }

    @Test
    void serverRejectsMalformedAndForeignPeerRequests() {
        try (AutoNatNet net = new AutoNatNet()) {
            Node server = net.start(6, b -> b.autoNat(FAST.withRateLimits(10, 100, 60_000)));
            Node client = net.start(7, b -> b);
            net.connect(client, server);
            AutoNatMessage.DialResponse garbage = request(net, client, server, new byte[] {(byte) 0xff, 0x01, 0x02});
            assertThat(garbage.status()).isEqualTo(AutoNatMessage.Status.E_BAD_REQUEST);
            AutoNatMessage.DialResponse wrongPeer = request(net, client, server, AutoNatCodec.encode(new AutoNatMessage.Dial(
                    HostKey.generate().peerId(), List.of(client.listenAddresses().get(0)), 0)));
            assertThat(wrongPeer.status()).isEqualTo(AutoNatMessage.Status.E_BAD_REQUEST);
            assertThat(wrongPeer.text()).contains("peer id");
            AutoNatMessage.DialResponse response = request(net, client, server, AutoNatCodec.encode(
                    new AutoNatMessage.DialResponse(AutoNatMessage.Status.OK, "", null)));
            assertThat(response.status()).isEqualTo(AutoNatMessage.Status.E_BAD_REQUEST);
            assertThat(server.counters().get("autonat.server.bad_request")).isEqualTo(3);
            assertThat(server.counters().get("autonat.server.dial.ok")).isZero();
        }
    }

    @Test
    void serverRateLimitsPerPeer() {
        try (AutoNatNet net = new AutoNatNet()) {
            Node server = net.start(8, b -> b.autoNat(FAST.withRateLimits(2, 100, 60_000)));
            Node client = net.start(9, b -> b);
            net.connect(client, server);
            byte[] dial = AutoNatCodec.encode(new AutoNatMessage.Dial(client.peerId(), List.of(client.listenAddresses().get(0)), 0));
            assertThat(request(net, client, server, dial).status()).isEqualTo(AutoNatMessage.Status.OK);
            assertThat(request(net, client, server, dial).status()).isEqualTo(AutoNatMessage.Status.OK);
            assertThat(request(net, client, server, dial).status()).isEqualTo(AutoNatMessage.Status.E_DIAL_REFUSED);
            assertThat(server.counters().get("autonat.server.refused.rate_limited")).isEqualTo(1);
            net.loop.advance(60_000);
            assertThat(request(net, client, server, dial).status()).isEqualTo(AutoNatMessage.Status.OK);
        }
    }

    /** Sends one framed {@code payload} on a fresh AutoNAT stream and returns the decoded response. */
    private static AutoNatMessage.DialResponse request(AutoNatNet net, Node from, Node to, byte[] payload) {
        Connection c = net.await(from.connection(to.peerId()));
        CompletableFuture<AutoNatMessage.DialResponse> result = new CompletableFuture<>();
        FrameDecoder decoder = new FrameDecoder(AutoNatCodec.MAX_MESSAGE_BYTES);
        StreamHandler h = new StreamHandler() {
            @Override public void onData(Stream s, byte[] data) {
                decoder.feed(data, m -> result.complete((AutoNatMessage.DialResponse) AutoNatCodec.decode(m)));
            }

            @Override public void onClosed(Stream s, Throwable cause) {
                result.completeExceptionally(new AssertionError("stream closed without a response", cause));
            }
        };
        net.loop.execute(() -> Multistream.select(c, List.of(AutoNat.PROTOCOL_ID), id -> h)
                .thenAccept(n -> n.stream().write(FrameDecoder.frame(payload))));
        net.awaitAdvancing(result::isDone, 100);
        return result.join();
    }
}
