package io.peersocket.store;

import java.time.Duration;
import java.util.Objects;

/**
 * Tuning for a {@link Store}. Immutable; start from {@link #defaults()} and change fields with the
 * {@code with…} methods.
 *
 * @param queueCapacity most units of work waiting in the queue (reads and writes; {@link Store#flush()}
 *     markers do not count), {@code >= 1}
 * @param maxBatch most units run in one transaction, {@code >= 1}
 * @param enqueueTimeout how long a producer waits for queue space before its work is rejected with
 *     {@link StoreFullException}; zero rejects at once
 * @param busyTimeout SQLite {@code busy_timeout}: how long a statement waits for a lock held by another
 *     connection (another process on the same file), at most {@link Integer#MAX_VALUE} ms
 * @param closeTimeout how long {@link Store#close()} waits for the queue to drain and the thread to stop
 */
public record StoreOptions(
        int queueCapacity, int maxBatch, Duration enqueueTimeout, Duration busyTimeout, Duration closeTimeout) {

    /** Default queue capacity: 100,000 units. */
    public static final int DEFAULT_QUEUE_CAPACITY = 100_000;
    /** Default batch size: 4,096 units per transaction. */
    public static final int DEFAULT_MAX_BATCH = 4_096;

    public StoreOptions {
        if (queueCapacity < 1) {
            throw new IllegalArgumentException("queueCapacity must be >= 1, got " + queueCapacity);
        }
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
        }
        checkDuration("enqueueTimeout", enqueueTimeout);
        checkDuration("busyTimeout", busyTimeout);
        checkDuration("closeTimeout", closeTimeout);
        if (busyTimeout.toMillis() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("busyTimeout too long: " + busyTimeout);
        }
    }

    /** Queue 100,000 units, batches of 4,096, wait 100 ms for queue space, busy timeout 5 s, close 30 s. */
    public static StoreOptions defaults() {
        return new StoreOptions(DEFAULT_QUEUE_CAPACITY, DEFAULT_MAX_BATCH, Duration.ofMillis(100),
                Duration.ofSeconds(5), Duration.ofSeconds(30));
    }

    public StoreOptions withQueueCapacity(int v) {
        return new StoreOptions(v, maxBatch, enqueueTimeout, busyTimeout, closeTimeout);
    }

    public StoreOptions withMaxBatch(int v) {
        return new StoreOptions(queueCapacity, v, enqueueTimeout, busyTimeout, closeTimeout);
    }

    public StoreOptions withEnqueueTimeout(Duration v) {
        return new StoreOptions(queueCapacity, maxBatch, v, busyTimeout, closeTimeout);
    }

    public StoreOptions withBusyTimeout(Duration v) {
        return new StoreOptions(queueCapacity, maxBatch, enqueueTimeout, v, closeTimeout);
    }

    public StoreOptions withCloseTimeout(Duration v) {
        return new StoreOptions(queueCapacity, maxBatch, enqueueTimeout, busyTimeout, v);
    }

    private static void checkDuration(String name, Duration d) {
        Objects.requireNonNull(d, name);
        if (d.isNegative()) {
            throw new IllegalArgumentException(name + " must not be negative, got " + d);
        }
    }
}
