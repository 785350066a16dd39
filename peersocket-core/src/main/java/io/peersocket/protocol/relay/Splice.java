package io.peersocket.protocol.relay;

import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.util.Counters;
import io.peersocket.util.EventLoop;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * The relay's byte pump between the initiator's hop stream and the target's stop stream, once both said OK:
 * bytes are copied both ways and counted; while the receiving stream is not {@link Stream#isWritable() writable}
 * bytes are queued and the sending stream's reading is paused ({@link Stream#setReadPaused}) until the queue
 * drains; bytes that still arrive are queued up to {@code maxBufferedBytes} (then the circuit is reset); a FIN
 * is passed on after the queued bytes; the circuit is reset when a direction reaches the data limit or the
 * duration limit expires. Event loop only.
 */
final class Splice {
    private final EventLoop loop;
    private final Counters counters;
    private final long dataLimit;
    private final int maxBuffered;
    private final Consumer<String> onDone;
    private final Direction forward;
    private final Direction backward;
    private EventLoop.Cancellable timer;
    private boolean done;

    /**
     * @param onDone called once with the reason when the circuit is over ("closed", "data_limit", "duration_limit",
     *     "overflow", "reset")
     */
    Splice(EventLoop loop, Counters counters, MessageStream hop, MessageStream stop, long durationLimitMs,
           long dataLimit, int maxBuffered, Consumer<String> onDone) {
        this.loop = loop;
        this.counters = counters;
        this.dataLimit = dataLimit;
        this.maxBuffered = maxBuffered;
        this.onDone = onDone;
        this.forward = new Direction(hop.stream(), stop.stream());
        this.backward = new Direction(stop.stream(), hop.stream());
        if (durationLimitMs > 0) timer = loop.schedule(() -> abort("duration_limit"), durationLimitMs);
        hop.attach(forward);
        stop.attach(backward);
    }

    /** Bytes relayed so far: [initiator→target, target→initiator]. */
    long[] bytes() { return new long[] {forward.bytes, backward.bytes}; }

    /** True once the circuit is over. */
    boolean isDone() { return done; }

    /** Resets both streams and ends the circuit (idempotent). */
    void abort(String reason) {
        if (done) return;
        forward.to.reset();
        backward.to.reset();
        finish(reason);
    }

    private void finish(String reason) {
        if (done) return;
        done = true;
        if (timer != null) timer.cancel();
        onDone.accept(reason);
    }

    private void maybeFinished() {
        if (forward.closed && backward.closed) finish("closed");
    }

    /** One direction: data read from {@code from} is written to {@code to}. */
    private final class Direction implements StreamHandler {
        final Stream from;
        final Stream to;
        final ArrayDeque<byte[]> queue = new ArrayDeque<>();
        long queued;
        long bytes;
        boolean finPending;
        boolean paused;
        boolean closed;

        Direction(Stream from, Stream to) {
            this.from = from;
            this.to = to;
        }

        @Override public void onData(Stream s, byte[] data) {
            if (done) return;
            boolean limitReached = false;
            if (dataLimit > 0 && bytes + data.length >= dataLimit) {
                data = Arrays.copyOf(data, (int) (dataLimit - bytes));
                limitReached = true;
            }
            bytes += data.length;
            counters.add("relay.circuit.bytes", data.length);
            if (limitReached) {
                counters.increment("relay.circuit.limit.data");
                if (data.length == 0 || !queue.isEmpty()) {
                    abort("data_limit");
                    return;
                }
                // let the last allowed bytes reach the send buffer, then reset (as go-libp2p does)
                to.write(data).whenComplete((v, e) -> abort("data_limit"));
                return;
            }
            if (queue.isEmpty() && to.isWritable()) {
                write(data);
                return;
            }
            queue.add(data);
            queued += data.length;
            if (!paused) {
                // the receiver is slow: stop reading the sender until the queue drains (flow control pushes back)
                paused = true;
                from.setReadPaused(true);
                counters.increment("relay.circuit.paused");
            }
            if (queued > maxBuffered) {
                counters.increment("relay.circuit.overflow");
                abort("overflow");
            }
        }

        private void write(byte[] data) {
            to.write(data).whenComplete((v, e) -> {
                if (e != null) {
                    abort("reset");
                    return;
                }
                drain();
            });
        }

        private void drain() {
            while (!queue.isEmpty() && to.isWritable() && !done) {
                byte[] d = queue.poll();
                queued -= d.length;
                write(d);
            }
            if (queue.isEmpty() && paused && !done) {
                paused = false;
                from.setReadPaused(false);
            }
            if (queue.isEmpty() && finPending) {
                finPending = false;
                to.closeWrite();
            }
        }

        @Override public void onRemoteWriteClosed(Stream s) {
            if (done) return;
            if (queue.isEmpty()) to.closeWrite();
            else finPending = true;
        }

        @Override public void onClosed(Stream s, Throwable cause) {
            closed = true;
            if (cause != null) abort("reset");
            else maybeFinished();
        }
    }
}
