package io.peersocket.protocol.relay;

import io.peersocket.identity.PeerId;
import java.util.Objects;

/**
 * One message of the stop protocol {@code /libp2p/circuit/relay/0.2.0/stop} (circuit-v2.md "Stop Protocol").
 *
 * @param type CONNECT (relay to target) or STATUS (target's answer)
 * @param peer the initiator of a CONNECT, null otherwise or if absent
 * @param limit the limits the relay applies to the circuit, or null if absent
 * @param status the status of a STATUS message, null for CONNECT
 */
public record StopMessage(Type type, PeerId peer, Limit limit, RelayStatus status) {

    public enum Type { CONNECT, STATUS }

    public StopMessage {
        Objects.requireNonNull(type, "type");
    }

    public static StopMessage connect(PeerId initiator, Limit limit) {
        return new StopMessage(Type.CONNECT, Objects.requireNonNull(initiator),
                limit == null || limit.isNone() ? null : limit, null);
    }

    public static StopMessage status(RelayStatus status) {
        return new StopMessage(Type.STATUS, null, null, Objects.requireNonNull(status));
    }
}
