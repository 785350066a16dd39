package io.peersocket.despatch;

import io.peersocket.identity.PeerId;

/**
 * Observes the despatch channels of a node (the hook of the snapshot protocol, docs/snapshot.md). A
 * <em>channel</em> is one direction of one peer pair: the despatch stream the sender opened to the receiver. Its
 * frames arrive in send order (a QUIC stream is FIFO and reliable); datagrams are on no channel. When that stream
 * ends before its FIN arrived (reset, connection lost) the channel ends; the next message opens a new stream, a
 * new channel, and messages in flight on the old one may be lost. A stream that ends with FIN lost nothing: when
 * despatch moves from a relayed to a direct connection the channel continues on the new stream, whose messages
 * the receiver delivers only after the old stream's (channel succession, docs/wire.md), and no reset is reported.
 *
 * <p>Threading: both methods run on the node's event loop and must be quick and never block. Installed with
 * {@link Despatcher#setChannelObserver}.
 */
public interface ChannelObserver {

    /**
     * A message arrived on the channel from {@code message.peer()}: a frame on a stream that peer opened (never a
     * datagram, nor a frame the peer wrote on the stream this node opened — that one is routed as usual). Called
     * in arrival order, before the message is routed and before any later frame on any channel is seen.
     *
     * @return true if the observer consumed the message (it is not routed further)
     */
    boolean onChannelMessage(Message message);

    /**
     * The channel from ({@code inbound}) or to {@code peer} ended with possible loss: its stream was reset or
     * closed before everything on it was read, its connection was lost, or the stream could not be opened. A clean
     * succession (old stream ended with FIN, a new one continues) is not reported. May be reported more than once
     * for one end.
     */
    void onChannelReset(PeerId peer, boolean inbound);
}
