package io.peersocket.protocol.handshake;

/**
 * Settings of the {@link Handshake}.
 *
 * @param version the handshake version this node announces, {@code >= 1}
 * @param minVersion the oldest remote version accepted, {@code 1 <= minVersion <= version}; a remote announcing a
 *     newer version than ours is accepted (the newer side decides whether it can speak the older one)
 * @param networkId this node's network id (unsigned 64-bit); remotes with another id are refused
 * @param light whether this node is a light node (does not store or serve for others)
 * @param timeoutMs a connection whose handshake has not completed this long after it opened is closed, {@code > 0}
 * @param refusalGraceMs after refusing a remote, how long to wait for it to read the verdict and close the
 *     connection itself before closing it, {@code >= 0}
 */
public record HandshakeConfig(int version, int minVersion, long networkId, boolean light, long timeoutMs,
                              long refusalGraceMs) {
    /** Network id of the default network. */
    public static final long DEFAULT_NETWORK_ID = 1;
    public static final long DEFAULT_TIMEOUT_MS = 10_000;
    public static final long DEFAULT_REFUSAL_GRACE_MS = 1_000;

    public HandshakeConfig {
        if (version < 1) throw new IllegalArgumentException("version must be >= 1, got " + version);
        if (minVersion < 1 || minVersion > version) {
            throw new IllegalArgumentException("minVersion must be in [1, " + version + "], got " + minVersion);
        }
        if (timeoutMs <= 0) throw new IllegalArgumentException("timeoutMs must be > 0, got " + timeoutMs);
        if (refusalGraceMs < 0) throw new IllegalArgumentException("refusalGraceMs must be >= 0, got " + refusalGraceMs);
    }

    /** Version {@link Handshake#VERSION}, network {@value #DEFAULT_NETWORK_ID}, full node, 10 s timeout. */
    public static HandshakeConfig defaults() {
        return new HandshakeConfig(Handshake.VERSION, Handshake.VERSION, DEFAULT_NETWORK_ID, false, DEFAULT_TIMEOUT_MS,
                DEFAULT_REFUSAL_GRACE_MS);
    }

    public HandshakeConfig withNetworkId(long id) {
        return new HandshakeConfig(version, minVersion, id, light, timeoutMs, refusalGraceMs);
    }

    public HandshakeConfig withLight(boolean isLight) {
        return new HandshakeConfig(version, minVersion, networkId, isLight, timeoutMs, refusalGraceMs);
    }

    /** Announce {@code v} and accept remotes from {@code min} up. */
    public HandshakeConfig withVersions(int v, int min) {
        return new HandshakeConfig(v, min, networkId, light, timeoutMs, refusalGraceMs);
    }

    public HandshakeConfig withTimeoutMs(long ms) {
        return new HandshakeConfig(version, minVersion, networkId, light, ms, refusalGraceMs);
    }

    public HandshakeConfig withRefusalGraceMs(long ms) {
        return new HandshakeConfig(version, minVersion, networkId, light, timeoutMs, ms);
    }

    /** What this node says about itself. */
    public HandshakeInfo local() { return new HandshakeInfo(version, networkId, light); }
}
