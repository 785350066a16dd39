package io.peersocket.transport.memory;

import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ordered queue of events arriving at one connection side: each event has a due time on the receiving
 * transport's clock, due times never decrease, and one pump task at a time runs due events in order on the
 * receiver's executor. This keeps stream data, FIN, reset and close in send order whatever the latency.
 */
final class Inbox {
    private static final Logger log = LoggerFactory.getLogger(Inbox.class);

    private record Event(long dueNanos, Runnable action) {}

    private final MemoryTransport owner;
    private final Object lock;
    private final ArrayDeque<Event> queue = new ArrayDeque<>(); // guarded by lock
    private boolean armed; // guarded by lock
    private long lastDueNanos = Long.MIN_VALUE; // guarded by lock

    Inbox(MemoryTransport owner, Object lock) {
        this.owner = owner;
        this.lock = lock;
    }

    /** Queues {@code action} to run on the owner's executor after {@code delayMs} (and after earlier events). Holds lock. */
    void postLocked(long delayMs, Runnable action) {
        long now = owner.nowNanos();
        long due = Math.max(now + delayMs * 1_000_000L, lastDueNanos);
        lastDueNanos = due;
        queue.add(new Event(due, action));
        if (!armed) {
            armed = true;
            owner.arm(this::pump, due - now);
        }
    }

    private void pump() {
        while (true) {
            Runnable action;
            synchronized (lock) {
                Event e = queue.peek();
                if (e == null) {
                    armed = false;
                    return;
                }
                long now = owner.nowNanos();
                if (e.dueNanos > now) {
                    owner.arm(this::pump, e.dueNanos - now);
                    return;
                }
                queue.poll();
                action = e.action;
            }
            try {
                action.run();
            } catch (RuntimeException ex) {
                log.error("memory transport event failed", ex);
            }
        }
    }
}
