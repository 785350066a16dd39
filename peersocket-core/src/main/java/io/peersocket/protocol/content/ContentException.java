package io.peersocket.protocol.content;

/** A retrieval or push did not succeed: no route, not found, every attempt failed or timed out, or closed. */
public class ContentException extends RuntimeException {
    public ContentException(String message) { super(message); }
}
