package io.peersocket.util;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The real {@link EventLoop}: one platform thread with a timer queue and wall-clock time. Tasks submitted
 * after {@link #shutdown()} are dropped silently (the node is stopping). A task that throws is logged and
 * the loop keeps running.
 */
public final class ThreadEventLoop implements EventLoop, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ThreadEventLoop.class);
    private final ScheduledThreadPoolExecutor executor;
    private volatile Thread thread;

    /** Starts a loop whose thread is named {@code name}. */
    public ThreadEventLoop(String name) {
        executor = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            thread = t;
            return t;
        });
        executor.setRemoveOnCancelPolicy(true);
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        executor.prestartCoreThread();
    }

    @Override public long nowMs() { return System.currentTimeMillis(); }

    @Override public long nanoTime() { return System.nanoTime(); }

    @Override public void execute(Runnable task) {
        try {
            executor.execute(() -> runSafely(task));
        } catch (RejectedExecutionException e) {
            log.debug("event loop stopped; task dropped");
        }
    }

    @Override public Cancellable schedule(Runnable task, long delayMs) {
        try {
            ScheduledFuture<?> f = executor.schedule(() -> runSafely(task), Math.max(0, delayMs), TimeUnit.MILLISECONDS);
            return () -> f.cancel(false);
        } catch (RejectedExecutionException e) {
            return () -> {};
        }
    }

    @Override public boolean inEventLoop() { return Thread.currentThread() == thread; }

    private static void runSafely(Runnable task) {
        try {
            task.run();
        } catch (Throwable t) {
            log.error("event loop task failed", t);
        }
    }

    /** Stops accepting tasks; queued ones still run. */
    public void shutdown() { executor.shutdown(); }

    /** Waits up to {@code ms} for queued tasks to finish. */
    public boolean awaitTermination(long ms) throws InterruptedException {
        return executor.awaitTermination(ms, TimeUnit.MILLISECONDS);
    }

    @Override public void close() {
        shutdown();
        try {
            if (!awaitTermination(5000)) executor.shutdownNow();
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
