package io.peersocket.transport.quic;

import io.netty.channel.Channel;
import io.netty.channel.socket.DatagramChannel;
import io.peersocket.multiaddr.Multiaddr;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One bound UDP socket with its pipeline {@code router → serverCodec → clientGate → clientCodec}: it accepts
 * inbound QUIC connections and is the source port of outbound ones.
 */
final class QuicEndpoint {
    final DatagramChannel channel;
    final InetSocketAddress localSocket;
    final Multiaddr localAddress;
    /** True if bound by {@code listen}; false for a socket bound on demand to dial another address family. */
    final boolean listening;
    /** Source connection ids of outbound connections on this socket (see {@link PacketRouter}). */
    final Set<ByteBuffer> clientCids;

    QuicEndpoint(DatagramChannel channel, boolean listening, Set<ByteBuffer> clientCids) {
        this.channel = channel;
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

    Channel channel() {
        return channel;
    }

    @Override
    public String toString() {
        return localAddress.toString();
    }
}
