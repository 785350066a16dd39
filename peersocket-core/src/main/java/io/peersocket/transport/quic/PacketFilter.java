package io.peersocket.transport.quic;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A packet filter at the UDP socket: datagrams from a blocked remote socket address are dropped on receive, and
 * datagrams to one are dropped on send (the write succeeds, as a datagram lost on the path would). To QUIC this
 * is a network cut: existing connections to a blocked address get no packets and end at the idle timeout, dials
 * to one time out at the handshake timeout. It sits at the head of every socket's pipeline (before the
 * {@link PacketRouter}), so it sees every datagram of every codec.
 *
 * <p>The block list is shared by all sockets of one transport. Reads of it happen on the event loop; changes
 * come from any thread (a concurrent set), and apply to the next datagram.
 */
@ChannelHandler.Sharable
final class PacketFilter extends ChannelDuplexHandler {
    private final Set<InetSocketAddress> blocked = ConcurrentHashMap.newKeySet();
    private final AtomicLong droppedIn = new AtomicLong();
    private final AtomicLong droppedOut = new AtomicLong();

    /** The live block list (a concurrent set: callers add and remove on it). */
    Set<InetSocketAddress> blocked() {
        return blocked;
    }

    /** Datagrams dropped on receive so far. */
    long droppedIn() {
        return droppedIn.get();
    }

    /** Datagrams dropped on send so far. */
    long droppedOut() {
        return droppedOut.get();
    }

    private boolean isBlocked(SocketAddress a) {
        return !blocked.isEmpty() && a instanceof InetSocketAddress s && blocked.contains(s);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof DatagramPacket p && isBlocked(p.sender())) {
            droppedIn.incrementAndGet();
            ReferenceCountUtil.release(msg);
            return;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof DatagramPacket p && isBlocked(p.recipient())) {
            droppedOut.incrementAndGet();
            ReferenceCountUtil.release(msg);
            promise.trySuccess();
            return;
        }
        ctx.write(msg, promise);
    }
}
