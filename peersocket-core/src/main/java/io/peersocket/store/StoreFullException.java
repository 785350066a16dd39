package io.peersocket.store;

/**
 * The store's queue stayed full for the whole {@link StoreOptions#enqueueTimeout()}: the store thread is not
 * keeping up (or is stuck). The work was not enqueued and will not run.
 */
public final class StoreFullException extends StoreException {
    private static final long serialVersionUID = 1L;

    public StoreFullException(String message) {
        super(message);
    }
}
