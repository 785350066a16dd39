package io.peersocket.store;

import java.sql.SQLException;

/**
 * A unit of work run on the store thread with the store's {@link Db}, inside a transaction the store manages.
 *
 * <p>Rules: do not begin, commit or roll back transactions; do not keep the {@link Db} or its statements
 * after returning; do not block. A unit may be run more than once (when its batch transaction fails the
 * store rolls back and re-runs the batch's units one per transaction), so it must have no effects outside
 * the database; its result is delivered only after the transaction that produced it committed.
 *
 * @param <T> result type; may be {@code null} (use {@link Void} for writes)
 */
@FunctionalInterface
public interface StoreWork<T> {
    /**
     * Runs the work.
     *
     * @throws SQLException to fail this unit; the store logs it and fails the unit's future with a
     *     {@link StoreException} whose cause is this exception
     */
    T run(Db db) throws SQLException;
}
