package io.peersocket.transport.quic;

import io.netty.channel.socket.DatagramChannel;
import io.peersocket.multiaddr.Multiaddr;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One bound UDP socket with its {@link PacketRouter} pipeline: it accepts inbound QUIC connections and is the
 * source port of outbound ones.
 */
final class QuicEndpoint {
    final DatagramChannel channel;
    final InetSocketAddress localSocket;
    final Multiaddr localAddress;
    /** True if bound by {@code listen}; false for a socket bound on demand to dial another address family. */
    final boolean listening;
    /** Source connection ids of outbound connections on this socket (see {@link PacketRouter}). */
    final Set<ByteBuffer> clientCids;
    final PacketRouter router;

    QuicEndpoint(DatagramChannel channel, boolean listening, Set<ByteBuffer> clientCids, PacketRouter router) {
        this.channel = channel;
        this.router = router;
        this.localSocket = (InetSocketAddress) channel.localAddress();
        this.localAddress = Multiaddr.quic(localSocket);
        this.listening = listening;
        this.clientCids = clientCids;
    }

    static Set<ByteBuffer> newCidSet() {
        return ConcurrentHashMap.newKeySet();
    }

    boolean isIpv4() {
        return localSocket.getAddress() instanceof Inet4Address;
    }

    @Override
    public String toString() {
        return localAddress.toString();
    }
}
