package io.peersocket.sim;

import io.peersocket.util.EventLoop;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The simulator's event loop: one queue of tasks and timers in virtual time, shared by every simulated node and
 * run by the one thread that drives the simulation. A discrete-event scheduler: time jumps from one due timer to
 * the next, so idle virtual time costs nothing.
 *
 * <p>Order (the determinism rule): ready tasks run first-in first-out; timers run at their due time, those due
 * at the same ms in the order they were scheduled; a task run at time t that schedules work for t runs it after
 * the tasks already queued. Nothing depends on wall-clock time or on which thread submitted, so the same
 * submissions from the driving thread give the same run.
 *
 * <p>Threads: tasks may be submitted from any thread (the queues are locked), but a submission from a thread
 * other than the driving one means some code escaped the loop (a real thread, a pool) and the run is no longer
 * deterministic; such submissions are counted ({@link #foreignSubmissions()}) and logged once. A task that throws
 * is logged and counted ({@link #failedTasks()}); the loop goes on.
 *
 * <p>Cost: one object per task, one heap entry per timer; cancelled timers are dropped lazily and purged when
 * they are the majority of a large heap.
 */
public final class SimLoop implements EventLoop {
    private static final Logger log = LoggerFactory.getLogger(SimLoop.class);

    private final ArrayDeque<Runnable> ready = new ArrayDeque<>();
    private final PriorityQueue<Timer> timers = new PriorityQueue<>();
    private final long startMs;
    private long nowMs;
    private long seq;
    private long cancelledInHeap;
    private long tasksRun;
    private long timersRun;
    private long failedTasks;
    private long foreignSubmissions;
    private final Thread driver; // the thread that runs tasks
    private boolean running; // a task is running (re-entrant run calls are refused)

    /**
     * A loop whose virtual clock starts at {@code startMs} (ms; e.g. an epoch time so stored times look real),
     * driven by the calling thread: only that thread may run it, and submissions from others are counted as
     * determinism leaks.
     */
    public SimLoop(long startMs) {
        this.startMs = startMs;
        this.nowMs = startMs;
        this.driver = Thread.currentThread();
    }

    private final class Timer implements Comparable<Timer>, Cancellable {
        final long due;
        final long order;
        Runnable task; // null once cancelled or run

        Timer(long due, long order, Runnable task) {
            this.due = due;
            this.order = order;
            this.task = task;
        }

        @Override public int compareTo(Timer o) {
            return due != o.due ? Long.compare(due, o.due) : Long.compare(order, o.order);
        }

        @Override public void cancel() {
            synchronized (SimLoop.this) {
                if (task != null) {
                    task = null;
                    cancelledInHeap++;
                }
            }
        }
    }

    // ---- EventLoop ----------------------------------------------------------------------------------

    /** Virtual time, ms. */
    @Override public synchronized long nowMs() { return nowMs; }

    /** Virtual time in ns (ms resolution). */
    @Override public synchronized long nanoTime() { return nowMs * 1_000_000L; }

    @Override public synchronized void execute(Runnable task) {
        Objects.requireNonNull(task);
        checkThread();
        ready.add(task);
    }

    @Override public synchronized Cancellable schedule(Runnable task, long delayMs) {
        Objects.requireNonNull(task);
        checkThread();
        Timer t = new Timer(nowMs + Math.max(0, delayMs), seq++, task);
        timers.add(t);
        return t;
    }

    /** True on the driving thread (every task runs there). */
    @Override public boolean inEventLoop() { return Thread.currentThread() == driver; }

    private void checkThread() {
        if (Thread.currentThread() != driver) {
            if (foreignSubmissions++ == 0) {
                log.warn("task submitted from thread {} (not the simulation's driving thread {}): the run is not "
                        + "deterministic", Thread.currentThread(), driver, new Throwable("submitted here"));
            }
        }
    }

    // ---- driving ------------------------------------------------------------------------------------

    /**
     * Runs ready tasks and timers due now until none is left, without moving time.
     *
     * @return how many tasks ran
     */
    public long runPending() {
        enter();
        try {
            return drainNow();
        } finally {
            running = false;
        }
    }

    /**
     * Runs everything due up to {@code nowMs() + ms}, jumping from timer to timer, then sets the clock to that
     * time.
     */
    public void runFor(long ms) {
        if (ms < 0) throw new IllegalArgumentException("ms must be >= 0, got " + ms);
        long target;
        synchronized (this) {
            target = nowMs + ms;
        }
        runUntil(() -> false, target);
    }

    /**
     * Runs until {@code condition} holds or virtual time would pass {@code deadlineMs}: the condition is checked
     * before starting and after each instant (all work due at one ms). On a timeout the clock is left at
     * {@code deadlineMs}; when the condition holds it stays at the instant it became true.
     *
     * @return whether the condition holds
     */
    public boolean runUntil(BooleanSupplier condition, long deadlineMs) {
        enter();
        try {
            drainNow();
            while (!condition.getAsBoolean()) {
                synchronized (this) {
                    Timer next = peekLive();
                    if (next == null || next.due > deadlineMs) {
                        if (deadlineMs > nowMs) nowMs = deadlineMs;
                        return false;
                    }
                    nowMs = Math.max(nowMs, next.due);
                }
                drainNow();
            }
            return true;
        } finally {
            running = false;
        }
    }

    private void enter() {
        Thread me = Thread.currentThread();
        if (driver != me) throw new IllegalStateException("the simulation is driven by " + driver + ", not " + me);
        if (running) throw new IllegalStateException("run called from inside a task");
        running = true;
    }

    /** Runs ready tasks and timers due at or before now, until none is left. */
    private long drainNow() {
        long n = 0;
        while (true) {
            Runnable r;
            synchronized (this) {
                r = ready.poll();
                if (r == null) {
                    Timer t = peekLive();
                    if (t == null || t.due > nowMs) return n;
                    timers.poll();
                    r = t.task;
                    t.task = null;
                    timersRun++;
                }
                tasksRun++;
            }
            n++;
            try {
                r.run();
            } catch (Throwable e) {
                failedTasks++;
                log.error("simulated task failed", e);
            }
        }
    }

    /** The earliest timer not cancelled, dropping cancelled ones on the way (holds the lock). */
    private Timer peekLive() {
        Timer t;
        while ((t = timers.peek()) != null && t.task == null) {
            timers.poll();
            cancelledInHeap--;
        }
        if (cancelledInHeap > 4096 && cancelledInHeap * 2 > timers.size()) purge();
        return timers.peek();
    }

    private void purge() {
        List<Timer> live = new ArrayList<>(timers.size());
        for (Timer t : timers) if (t.task != null) live.add(t);
        timers.clear();
        timers.addAll(live);
        cancelledInHeap = 0;
    }

    // ---- inspection ---------------------------------------------------------------------------------

    /** The virtual time the loop started at, ms. */
    public long startMs() { return startMs; }

    /** Virtual ms since the start. */
    public synchronized long elapsedMs() { return nowMs - startMs; }

    /** Tasks run so far (ready tasks and timers). */
    public synchronized long tasksRun() { return tasksRun; }

    /** Timers run so far. */
    public synchronized long timersRun() { return timersRun; }

    /** Tasks that threw. */
    public synchronized long failedTasks() { return failedTasks; }

    /** Submissions from a thread other than the driving one (each a determinism leak); 0 in a sound run. */
    public synchronized long foreignSubmissions() { return foreignSubmissions; }

    /** Ready tasks plus live timers. */
    public synchronized long queued() { return ready.size() + timers.size() - cancelledInHeap; }

    /** Due time of the next live timer, or -1 if none. */
    public synchronized long nextTimerDueMs() {
        Timer t = peekLive();
        return t == null ? -1 : t.due;
    }
}
