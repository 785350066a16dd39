package io.peersocket.protocol.handshake;

/**
 * What a node says about itself in the handshake (seed 001, the bzz handshake).
 *
 * @param version handshake protocol version the node speaks, {@code >= 1} for a valid hello
 * @param networkId the network the node belongs to (an unsigned 64-bit value held in a {@code long}); nodes
 *     with different ids do not talk
 * @param light true for a light node: other protocols must not ask it to store or serve data
 */
public record HandshakeInfo(int version, long networkId, boolean light) {
    @Override public String toString() {
        return "v" + version + " network " + Long.toUnsignedString(networkId) + (light ? " light" : " full");
    }
}
