package io.peersocket.transport.quic;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.Set;

/**
 * Lets one UDP socket carry four QUIC codecs: server and client, each in a WAN and a loopback flavour (the loopback
 * codecs use large UDP payloads, which would be fragmented on real paths). The socket's pipeline is
 *
 * <pre>
 * router → server → [loop-server-gate] → server-loop → [client-gate] → client → [loop-client-gate] → client-loop
 *        → connect-selector
 * </pre>
 *
 * <p>Inbound: each datagram goes to a client codec if its destination connection id is one this node issued as a
 * client ({@link #clientCids}), else to a server codec; to the loopback flavour iff its sender is a loopback
 * address. Header parsing (RFC 9000 §17): long header (first bit set): version (4 bytes), DCID length byte, DCID;
 * short header: DCID of our fixed local length right after the first byte. Malformed or short packets go to a
 * server codec, which drops what it cannot parse.
 *
 * <p>Outbound: a new client connection's {@code connect} travels from the pipeline's tail; the connect selector
 * passes it to the loopback or the WAN client codec as chosen by {@link #connecting}.
 *
 * <p>Runs on the socket's event loop only.
 */
final class PacketRouter extends ChannelInboundHandlerAdapter {
    private final int cidLength;
    /** Source connection ids of our outbound (client) connections; written on the loop. */
    private final Set<ByteBuffer> clientCids;
    private final Runnable onActive;
    private ChannelHandlerContext self;
    private ChannelHandlerContext loopServerGate;
    private ChannelHandlerContext clientGate;
    private ChannelHandlerContext loopClientGate;
    /** Codec choice for the client connect being started right now (connects run inline on the loop). */
    private boolean loopbackConnect;

    /** If false, loopback peers are served by the WAN codecs too. */
    private final boolean loopbackCodecs;

    /** {@code onActive} runs on the loop when the socket is bound, before its first read. */
    PacketRouter(int cidLength, Set<ByteBuffer> clientCids, boolean loopbackCodecs, Runnable onActive) {
        this.loopbackCodecs = loopbackCodecs;
        this.cidLength = cidLength;
        this.clientCids = clientCids;
        this.onActive = onActive;
    }

    /** Builds the pipeline described above. */
    void install(ChannelPipeline p, ChannelHandler server, ChannelHandler loopServer, ChannelHandler client,
            ChannelHandler loopClient) {
        p.addLast("router", this)
                .addLast("quic-server", server)
                .addLast("loop-server-gate", new Gate(0))
                .addLast("quic-server-loop", loopServer)
                .addLast("client-gate", new Gate(1))
                .addLast("quic-client", client)
                .addLast("loop-client-gate", new Gate(2))
                .addLast("quic-client-loop", loopClient)
                .addLast("connect-selector", new ConnectSelector());
    }

    /**
     * Runs {@code connect} (which starts a client connection inline, on this loop) so that its connect reaches the
     * loopback client codec iff {@code loopback}. A connect that does not happen inline goes to the WAN codec.
     */
    void connecting(boolean loopback, Runnable connect) {
        loopbackConnect = loopback && loopbackCodecs;
        try {
            connect.run();
        } finally {
            loopbackConnect = false;
        }
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        self = ctx;
    }

    /**
     * Writes {@code packet} to the socket directly, past the QUIC codecs (hole-punch datagrams). On the loop; a
     * packet sent before the router is installed is released (null returned).
     */
    io.netty.channel.ChannelFuture sendRaw(DatagramPacket packet) {
        if (self == null) {
            packet.release();
            return null;
        }
        // a real promise: a send error (no route) fails this future instead of reaching the pipeline's tail
        return self.writeAndFlush(packet);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        onActive.run();
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof DatagramPacket packet) || loopClientGate == null) {
            ctx.fireChannelRead(msg);
            return;
        }
        boolean loop = loopbackCodecs && packet.sender() instanceof InetSocketAddress s && s.getAddress() != null
                && s.getAddress().isLoopbackAddress();
        if (isForClient(packet.content())) {
            (loop ? loopClientGate : clientGate).fireChannelRead(msg);
        } else if (loop) {
            loopServerGate.fireChannelRead(msg);
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // Codecs do not propagate read-complete, so each gets it explicitly; one that read nothing just flushes.
        ctx.fireChannelReadComplete();
        if (loopClientGate != null) {
            loopServerGate.fireChannelReadComplete();
            clientGate.fireChannelReadComplete();
            loopClientGate.fireChannelReadComplete();
        }
    }

    /** True if the packet's destination connection id is one of our client connection ids. */
    boolean isForClient(ByteBuf buf) {
        if (clientCids.isEmpty()) return false;
        int start = buf.readerIndex();
        int len = buf.readableBytes();
        if (len < 1) return false;
        int offset;
        if ((buf.getByte(start) & 0x80) != 0) {
            // long header: flags(1) version(4) dcidLen(1) dcid
            if (len < 6) return false;
            int dcidLen = buf.getUnsignedByte(start + 5);
            if (dcidLen != cidLength) return false;
            offset = start + 6;
        } else {
            offset = start + 1;
        }
        if (offset - start + cidLength > len) return false;
        byte[] cid = new byte[cidLength];
        buf.getBytes(offset, cid);
        return clientCids.contains(ByteBuffer.wrap(cid));
    }

    /** A pass-through handler whose context lets the router fire events at the codec right after it. */
    private final class Gate extends ChannelInboundHandlerAdapter {
        private final int which;

        Gate(int which) {
            this.which = which;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            switch (which) {
                case 0 -> loopServerGate = ctx;
                case 1 -> clientGate = ctx;
                default -> loopClientGate = ctx;
            }
        }
    }

    /** Sends each client connect to the codec chosen by {@link #connecting}. */
    private final class ConnectSelector extends ChannelOutboundHandlerAdapter {
        @Override
        public void connect(ChannelHandlerContext ctx, SocketAddress remote, SocketAddress local,
                ChannelPromise promise) {
            if (loopbackConnect || loopClientGate == null) {
                ctx.connect(remote, local, promise); // next toward the head: the loopback client codec
            } else {
                loopClientGate.connect(remote, local, promise); // skips it: the WAN client codec
            }
        }
    }
}
