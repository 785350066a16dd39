package io.peersocket.protocol.snapshot;

/**
 * A part of a node whose state a snapshot records (registered with {@link Snapshots#register}).
 *
 * <p>Rule for app authors (docs/snapshot.md): state that {@link #state()} returns must change only on the node's
 * event loop — by handlers registered with {@link Snapshots#handle} (they run on the loop, in channel arrival
 * order) and by loop tasks that change state and call {@link Snapshots#send} in the same task. Then the recorded
 * state reflects exactly the messages that arrived before the marker, and every message sent after the
 * recording follows the marker on its channel.
 */
public interface SnapshotParticipant {

    /** Key of this participant's state in {@link NodeSnapshot#state()}, e.g. {@code "tokens"}. */
    String name();

    /**
     * The current state, as a {@link StateValues} tree (maps, lists, strings, numbers, booleans, bytes). Called
     * on the event loop at the recording point; must be quick, read-only and must not block.
     */
    Object state();

    /**
     * A readable form of a recorded channel message of a type this participant handles, for output (e.g. the
     * token amount), or null to show only its size.
     */
    default Object describe(int type, byte[] payload) { return null; }
}
