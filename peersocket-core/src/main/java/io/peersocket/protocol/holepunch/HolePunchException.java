package io.peersocket.protocol.holepunch;

/** A hole-punch message (DCUtR or introduction) that is malformed or over a limit; the message names the bad part. */
public final class HolePunchException extends IllegalArgumentException {
    public HolePunchException(String message) { super(message); }

    public HolePunchException(String message, Throwable cause) { super(message, cause); }
}
