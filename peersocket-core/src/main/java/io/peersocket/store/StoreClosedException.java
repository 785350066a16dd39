package io.peersocket.store;

/** Work was submitted to a store that is closed or closing, or whose thread has stopped. */
public final class StoreClosedException extends StoreException {
    private static final long serialVersionUID = 1L;

    public StoreClosedException(String message) {
        super(message);
    }
}
