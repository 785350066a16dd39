package io.peersocket.protocol.snapshot;

import io.peersocket.identity.PeerId;
import java.util.List;

/**
 * The recorded state of one channel (the messages in flight from {@code from} to {@code to} at the cut).
 *
 * @param from the sender
 * @param to the receiver (the node that recorded it)
 * @param complete true if the receiver recorded from its own recording until {@code from}'s marker, with no
 *     reset of the channel and nothing dropped
 * @param problem why it is incomplete (marker missing, channel reset, truncated), or null
 * @param dropped messages not kept because the channel's recording limit was reached
 * @param messages the recorded messages, in arrival order
 */
public record ChannelState(PeerId from, PeerId to, boolean complete, String problem, long dropped,
                           List<ChannelMessage> messages) {
    public ChannelState {
        messages = List.copyOf(messages);
    }
}
