package io.peersocket.content;

/**
 * A chunk, tree or manifest that is malformed or does not match its address: wrong content for the address,
 * a span that does not fit the payload, a tree whose shape does not match its spans, a manifest that breaks
 * its bounds. The message names the bad part. Nothing that fails this way is stored.
 */
public class InvalidChunkException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public InvalidChunkException(String message) {
        super(message);
    }

    public InvalidChunkException(String message, Throwable cause) {
        super(message, cause);
    }
}
