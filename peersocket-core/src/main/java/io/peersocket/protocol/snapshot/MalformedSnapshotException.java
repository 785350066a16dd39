package io.peersocket.protocol.snapshot;

/** A snapshot frame (marker, report or encoded state) that cannot be decoded; the message names the bad part. */
public class MalformedSnapshotException extends IllegalArgumentException {
    public MalformedSnapshotException(String message) { super(message); }
}
