package io.peersocket.protocol.content;

/**
 * A content protocol message (retrieval, push sync, pull sync) was malformed, over a bound, lied about indices or
 * carried a chunk whose content does not match its address; the message names the bad part. The sender is
 * counted and loses reputation ({@link Reputation}).
 */
public class ContentProtocolException extends IllegalArgumentException {
    public ContentProtocolException(String message) { super(message); }
}
