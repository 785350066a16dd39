package io.peersocket.store;

/**
 * A store operation failed: the database could not be opened or migrated, or a unit of work failed (the cause
 * is then usually the {@link java.sql.SQLException} from SQLite).
 */
public class StoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public StoreException(String message) {
        super(message);
    }

    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
