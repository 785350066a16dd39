package io.peersocket.util;

import java.util.ArrayDeque;
import java.util.PriorityQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * A deterministic {@link EventLoop} for tests and simulation: virtual time that only moves when
 * {@link #advance} is called; tasks run on the thread that calls {@link #runPending}, {@link #advance} or
 * {@link #runUntil}. Tasks may be submitted from any thread.
 */
public final class ManualEventLoop implements EventLoop {
    private final ArrayDeque<Runnable> ready = new ArrayDeque<>();
    private final PriorityQueue<Timer> timers = new PriorityQueue<>();
    private long now;
    private long seq;
    private volatile Thread runner;

    /** A loop whose clock starts at {@code startMs}. */
    public ManualEventLoop(long startMs) { this.now = startMs; }

    private static final class Timer implements Comparable<Timer>, Cancellable {
        final long due, order;
        final Runnable task;
        volatile boolean cancelled;

        Timer(long due, long order, Runnable task) {
            this.due = due;
            this.order = order;
            this.task = task;
        }

        @Override public int compareTo(Timer o) {
            return due != o.due ? Long.compare(due, o.due) : Long.compare(order, o.order);
        }

        @Override public void cancel() { cancelled = true; }
    }

    @Override public synchronized long nowMs() { return now; }

    @Override public synchronized long nanoTime() { return TimeUnit.MILLISECONDS.toNanos(now); }

    @Override public synchronized void execute(Runnable task) {
        ready.add(task);
        notifyAll();
    }

    @Override public synchronized Cancellable schedule(Runnable task, long delayMs) {
        Timer t = new Timer(now + Math.max(0, delayMs), seq++, task);
        timers.add(t);
        return t;
    }

    @Override public boolean inEventLoop() { return Thread.currentThread() == runner; }

    /** Runs ready tasks (and timers due now) until none is left; returns how many ran. */
    public int runPending() {
        int n = 0;
        while (true) {
            Runnable r;
            synchronized (this) {
                while (!timers.isEmpty() && timers.peek().due <= now) {
                    Timer t = timers.poll();
                    if (!t.cancelled) ready.add(t.task);
                }
                r = ready.poll();
            }
            if (r == null) return n;
            runner = Thread.currentThread();
            try {
                r.run();
            } finally {
                runner = null;
            }
            n++;
        }
    }

    /** Moves virtual time forward by {@code ms}, running each timer at its due time, then pending tasks. */
    public void advance(long ms) {
        long target;
        synchronized (this) {
            target = now + ms;
        }
        while (true) {
            runPending();
            synchronized (this) {
                Timer next = timers.peek();
                while (next != null && next.cancelled) {
                    timers.poll();
                    next = timers.peek();
                }
                if (next == null || next.due > target) {
                    now = target;
                    break;
                }
                now = next.due;
            }
        }
        runPending();
    }

    /**
     * Runs tasks as they arrive (from other threads too) until {@code condition} holds, waiting at most
     * {@code realTimeoutMs} of real time for tasks to arrive. Virtual time does not move.
     *
     * @throws TimeoutException if the condition does not hold in time
     */
    public void runUntil(BooleanSupplier condition, long realTimeoutMs) throws TimeoutException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(realTimeoutMs);
        while (true) {
            runPending();
            if (condition.getAsBoolean()) return;
            synchronized (this) {
                long left = deadline - System.nanoTime();
                if (left <= 0) throw new TimeoutException("condition not met within " + realTimeoutMs + " ms");
                if (ready.isEmpty()) TimeUnit.NANOSECONDS.timedWait(this, Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)));
            }
        }
    }
}
