package io.peersocket.util;

import java.util.concurrent.Executor;

/**
 * A single-threaded executor with a clock and timers: the node's protocol event thread (DESIGN.md
 * "Concurrency"). Tasks run one at a time in submission order; protocol state is touched only from tasks on
 * this loop. Time comes from {@link #nowMs()} so tests can substitute {@link ManualEventLoop} and advance
 * time instead of sleeping.
 */
public interface EventLoop extends Executor {

    /** Current time in ms (epoch ms for the real loop; virtual for a manual one). */
    long nowMs();

    /** Monotonic time in ns for measuring intervals (RTTs). */
    long nanoTime();

    /** Runs {@code task} once after {@code delayMs} (≥ 0); returns a handle to cancel it. */
    Cancellable schedule(Runnable task, long delayMs);

    /** True if the calling thread is this loop's thread. */
    boolean inEventLoop();

    /** A scheduled task that can be cancelled. */
    interface Cancellable {
        /** Prevents the task from running if it has not started; idempotent. */
        void cancel();
    }
}
