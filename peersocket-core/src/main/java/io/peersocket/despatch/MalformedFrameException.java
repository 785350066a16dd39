package io.peersocket.despatch;

/** A despatch frame that cannot be decoded; the message names the bad field. */
public class MalformedFrameException extends IllegalArgumentException {
    public MalformedFrameException(String message) { super(message); }
}
