package io.peersocket.bench.baseline;

import io.peersocket.bench.BulkMeter;
import io.peersocket.bench.BulkResult;
import io.peersocket.bench.Recorder;
import io.peersocket.bench.RrResult;
import io.peersocket.bench.Settings;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Raw TCP on loopback with blocking {@link Socket}s and {@code TCP_NODELAY}: one platform thread per side
 * (two on the client when requests are pipelined).
 */
public final class TcpBaseline {
    private TcpBaseline() {}

    /** Request/reply with one outstanding request: the client writes, then reads the echoed reply. */
    public static RrResult requestReply(Settings s) throws Exception {
        try (ServerSocket ss = listen(); Socket c = connect(ss)) {
            Thread server = echoServer(ss, s.payloadBytes());
            InputStream in = c.getInputStream();
            OutputStream out = c.getOutputStream();
            byte[] req = new byte[s.payloadBytes()];
            byte[] rep = new byte[s.payloadBytes()];
            Recorder rec = new Recorder(s.warmupMs(), s.durationMs());
            while (true) {
                long t0 = System.nanoTime();
                out.write(req);
                readFully(in, rep);
                if (!rec.record(t0, System.nanoTime())) break;
            }
            c.shutdownOutput();
            server.join(5_000);
            return rec.result("raw TCP");
        }
    }

    /**
     * Request/reply with {@code depth} requests pipelined on one connection: a writer thread sends whenever fewer
     * than {@code depth} are outstanding, a reader thread takes the replies in order.
     */
    public static RrResult requestReplyPipelined(Settings s) throws Exception {
        try (ServerSocket ss = listen(); Socket c = connect(ss)) {
            Thread server = echoServer(ss, s.payloadBytes());
            Semaphore window = new Semaphore(s.depth());
            ArrayBlockingQueue<Long> sent = new ArrayBlockingQueue<>(s.depth() + 1);
            AtomicBoolean stop = new AtomicBoolean();
            Recorder rec = new Recorder(s.warmupMs(), s.durationMs());
            CompletableFuture<Void> readerDone = new CompletableFuture<>();
            Thread reader = Thread.ofPlatform().name("tcp-rr-reader").start(() -> {
                byte[] rep = new byte[s.payloadBytes()];
                try {
                    InputStream in = c.getInputStream();
                    while (true) {
                        readFully(in, rep);
                        Long t0 = sent.poll();
                        if (t0 == null) throw new IllegalStateException("reply without request");
                        if (!rec.record(t0, System.nanoTime())) break;
                        window.release();
                    }
                    readerDone.complete(null);
                } catch (Throwable e) {
                    readerDone.completeExceptionally(e);
                } finally {
                    stop.set(true);
                    window.release(s.depth() + 1);
                }
            });
            OutputStream out = c.getOutputStream();
            byte[] req = new byte[s.payloadBytes()];
            while (!stop.get()) {
                window.acquire();
                if (stop.get()) break;
                sent.add(System.nanoTime());
                out.write(req);
            }
            readerDone.get(rec.remainingMs(10_000), TimeUnit.MILLISECONDS);
            reader.join(5_000);
            c.shutdownOutput();
            server.join(5_000);
            return rec.result("raw TCP, " + s.depth() + " pipelined");
        }
    }

    /** One connection, the client writes {@code chunkBytes} blocks as fast as the socket takes them. */
    public static BulkResult bulk(Settings s) throws Exception {
        try (ServerSocket ss = listen(); Socket c = connect(ss)) {
            BulkMeter meter = new BulkMeter("raw TCP", s);
            CompletableFuture<Void> done = new CompletableFuture<>();
            Thread receiver = Thread.ofPlatform().name("tcp-bulk-receiver").start(() -> {
                try (Socket sc = ss.accept()) {
                    InputStream in = sc.getInputStream();
                    byte[] buf = new byte[s.chunkBytes()];
                    int n;
                    while ((n = in.read(buf)) >= 0) {
                        if (meter.onBytes(n)) done.complete(null);
                    }
                    if (!meter.isDone()) throw new EOFException("sender stopped early");
                } catch (Throwable e) {
                    done.completeExceptionally(e);
                }
            });
            OutputStream out = c.getOutputStream();
            byte[] chunk = new byte[s.chunkBytes()];
            try {
                while (!meter.isDone()) out.write(chunk);
            } finally {
                c.shutdownOutput();
            }
            done.get(10, TimeUnit.SECONDS);
            receiver.join(5_000);
            return meter.result();
        }
    }

    private static ServerSocket listen() throws IOException {
        ServerSocket ss = new ServerSocket();
        ss.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        return ss;
    }

    private static Socket connect(ServerSocket ss) throws IOException {
        Socket c = new Socket();
        c.setTcpNoDelay(true);
        c.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), ss.getLocalPort()), 5_000);
        return c;
    }

    /** Accepts one connection and echoes {@code size}-byte messages until the client closes. */
    private static Thread echoServer(ServerSocket ss, int size) {
        return Thread.ofPlatform().name("tcp-echo").start(() -> {
            try (Socket sc = ss.accept()) {
                sc.setTcpNoDelay(true);
                InputStream in = sc.getInputStream();
                OutputStream out = sc.getOutputStream();
                byte[] buf = new byte[size];
                while (true) {
                    try {
                        readFully(in, buf);
                    } catch (EOFException e) {
                        return;
                    }
                    out.write(buf);
                }
            } catch (IOException e) {
                // client gone
            }
        });
    }

    private static void readFully(InputStream in, byte[] b) throws IOException {
        int off = 0;
        while (off < b.length) {
            int n = in.read(b, off, b.length - off);
            if (n < 0) throw new EOFException();
            off += n;
        }
    }
}
