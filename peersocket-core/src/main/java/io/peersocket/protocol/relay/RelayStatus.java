package io.peersocket.protocol.relay;

/**
 * The {@code Status} codes of Circuit Relay v2 (libp2p specs relay/circuit-v2.md "Protobuf"), with their wire
 * numbers.
 */
public enum RelayStatus {
    OK(100),
    /** The relay does not take (more) reservations: too many reservations, or from this IP. */
    RESERVATION_REFUSED(200),
    /** Too many circuits (in total, from the initiator or to the target), or too many requests from this peer. */
    RESOURCE_LIMIT_EXCEEDED(201),
    /** Refused by policy (e.g. a request over a relayed connection). */
    PERMISSION_DENIED(202),
    /** The relay could not reach the target, or the target refused the stop CONNECT. */
    CONNECTION_FAILED(203),
    /** The target holds no live reservation on this relay. */
    NO_RESERVATION(204),
    MALFORMED_MESSAGE(400),
    UNEXPECTED_MESSAGE(401);

    private final int code;

    RelayStatus(int code) { this.code = code; }

    /** The wire number. */
    public int code() { return code; }

    /** The status with wire number {@code code}, or null if unknown. */
    public static RelayStatus forCode(int code) {
        for (RelayStatus s : values()) if (s.code == code) return s;
        return null;
    }
}
