package io.peersocket.transport.quic;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramPacket;
import java.nio.ByteBuffer;
import java.util.Set;

/**
 * First handler of a UDP socket's pipeline {@code router → serverCodec → clientGate → clientCodec}: sends each
 * inbound QUIC packet to the client codec if its destination connection id is one this node issued as a client
 * (see {@link #clientCids}), else to the server codec. This is what lets one UDP port both accept and dial.
 *
 * <p>Header parsing (RFC 9000 §17): long header (first bit set): version (4 bytes), DCID length byte, DCID; short
 * header: DCID of our fixed local length right after the first byte. Malformed or short packets go to the server
 * codec, which drops what it cannot parse. Runs on the socket's event loop only.
 */
final class PacketRouter extends ChannelInboundHandlerAdapter {
    private final int cidLength;
    /** Source connection ids of our outbound (client) connections; read on the loop, written from the loop. */
    private final Set<ByteBuffer> clientCids;
    private ChannelHandlerContext clientGate;

    private final Runnable onActive;

    /** {@code onActive} runs on the loop when the socket is bound, before its first read. */
    PacketRouter(int cidLength, Set<ByteBuffer> clientCids, Runnable onActive) {
        this.cidLength = cidLength;
        this.clientCids = clientCids;
        this.onActive = onActive;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        onActive.run();
        ctx.fireChannelActive();
    }

    /** The pass-through handler placed right before the client codec; the router fires client packets from it. */
    ChannelInboundHandlerAdapter newClientGate() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void handlerAdded(ChannelHandlerContext ctx) {
                clientGate = ctx;
            }
        };
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof DatagramPacket packet && clientGate != null && isForClient(packet.content())) {
            clientGate.fireChannelRead(msg);
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // The server codec does not propagate read-complete, so both codecs get it explicitly. A codec that read
        // nothing treats it as a no-op flush.
        ctx.fireChannelReadComplete();
        if (clientGate != null) {
            clientGate.fireChannelReadComplete();
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
}
