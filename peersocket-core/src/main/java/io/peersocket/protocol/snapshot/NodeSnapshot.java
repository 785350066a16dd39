package io.peersocket.protocol.snapshot;

import io.peersocket.identity.PeerId;
import java.util.List;
import java.util.Map;

/**
 * One node's part of a snapshot: its recorded local state and the states of its inbound channels.
 *
 * @param peer the node
 * @param busy true if the node refused because it was recording another snapshot (then the rest is empty)
 * @param state what each {@link SnapshotParticipant} returned at the recording point, by participant name (values
 *     as {@link StateValues#decode} returns them)
 * @param channels one entry per inbound channel
 * @param markersSentTo the peers this node sent a marker to (its outbound channels)
 * @param problems what went wrong at this node (an outbound channel reset, a state provider that failed,
 *     a state too large), empty if nothing
 */
public record NodeSnapshot(PeerId peer, boolean busy, Map<String, Object> state, List<ChannelState> channels,
                           List<PeerId> markersSentTo, List<String> problems) {
    public NodeSnapshot {
        channels = List.copyOf(channels);
        markersSentTo = List.copyOf(markersSentTo);
        problems = List.copyOf(problems);
    }

    /** Not busy, no problems, every channel complete. */
    public boolean complete() {
        return !busy && problems.isEmpty() && channels.stream().allMatch(ChannelState::complete);
    }
}
