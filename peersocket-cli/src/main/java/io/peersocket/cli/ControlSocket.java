package io.peersocket.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local control endpoint of a running node: a Unix domain socket {@code DATA/control.sock}, reachable only
 * through the file system (the data dir is the node owner's). Each line in is a JSON request, each line out
 * the JSON answer ({@link ControlHandler}). Requests are at most {@value #MAX_LINE} characters.
 */
final class ControlSocket implements AutoCloseable {
    static final String FILE_NAME = "control.sock";
    static final int MAX_LINE = 64 * 1024;
    private static final Logger log = LoggerFactory.getLogger(ControlSocket.class);

    private final Path path;
    private final ServerSocketChannel server;
    private volatile boolean closed;

    private ControlSocket(Path path, ServerSocketChannel server) {
        this.path = path;
        this.server = server;
    }

    /** Binds {@code dataDir/control.sock} (replacing a stale one) and serves {@code handler} on virtual threads. */
    static ControlSocket start(Path dataDir, ControlHandler handler) throws IOException {
        Path path = dataDir.resolve(FILE_NAME).toAbsolutePath();
        Files.deleteIfExists(path); // stale: the data dir lock guarantees no other node owns it
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        ControlSocket cs = new ControlSocket(path, server);
        Thread.ofVirtual().name("peersocket-control").start(() -> cs.acceptLoop(handler));
        return cs;
    }

    private void acceptLoop(ControlHandler handler) {
        while (!closed) {
            try {
                SocketChannel ch = server.accept();
                Thread.ofVirtual().start(() -> serve(ch, handler));
            } catch (IOException e) {
                if (!closed) log.warn("control socket accept failed: {}", e.toString());
                return;
            }
        }
    }

    private static void serve(SocketChannel ch, ControlHandler handler) {
        try (ch; BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
             OutputStream out = Channels.newOutputStream(ch)) {
            String line;
            while ((line = readLine(in)) != null) {
                if (line.isBlank()) continue;
                Map<String, Object> answer = answer(handler, line, p -> {
                    try {
                        out.write((JSON.std.asString(p) + "\n").getBytes(StandardCharsets.UTF_8));
                        out.flush();
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                out.write((JSON.std.asString(answer) + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        } catch (IOException e) {
            log.debug("control connection ended: {}", e.toString());
        }
    }

    /** Parses a request line and answers it; malformed JSON gets an error answer. */
    static Map<String, Object> answer(ControlHandler handler, String line) {
        return answer(handler, line, p -> { });
    }

    /** As {@link #answer(ControlHandler, String)}, handing progress objects of long commands to {@code progress}. */
    static Map<String, Object> answer(ControlHandler handler, String line,
            java.util.function.Consumer<Map<String, Object>> progress) {
        Map<String, Object> request;
        try {
            request = JSON.std.mapFrom(line);
        } catch (IOException | RuntimeException e) {
            return Map.of("ok", false, "error", "malformed request: " + e.getMessage().lines().findFirst().orElse(""));
        }
        return handler.handle(request, progress);
    }

    /** A line of at most MAX_LINE characters, or null at end of input. @throws IOException if longer */
    static String readLine(BufferedReader in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') return sb.toString();
            if (sb.length() >= MAX_LINE) throw new IOException("control request longer than " + MAX_LINE + " characters");
            sb.append((char) c);
        }
        return sb.isEmpty() ? null : sb.toString();
    }

    /**
     * Sends one request to the node whose data dir is {@code dataDir} and returns its answer.
     *
     * @throws IOException if no node is running there (the message says so)
     */
    static Map<String, Object> call(Path dataDir, Map<String, Object> request) throws IOException {
        return call(dataDir, request, p -> { });
    }

    /**
     * As {@link #call(Path, Map)}; lines with {@code "progress": true} that precede the answer (long commands)
     * go to {@code progress}.
     */
    static Map<String, Object> call(Path dataDir, Map<String, Object> request,
            java.util.function.Consumer<Map<String, Object>> progress) throws IOException {
        Path path = dataDir.resolve(FILE_NAME).toAbsolutePath();
        if (!Files.exists(path)) {
            throw new IOException("no running node with data dir " + dataDir + " (no " + FILE_NAME + ")");
        }
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
            OutputStream out = Channels.newOutputStream(ch);
            out.write((JSON.std.asString(request) + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
            while (true) {
                String line = in.readLine();
                if (line == null) throw new IOException("node closed the control connection without answering");
                Map<String, Object> m = JSON.std.mapFrom(line);
                if (Boolean.TRUE.equals(m.get("progress"))) {
                    progress.accept(m);
                    continue;
                }
                return m;
            }
        } catch (java.net.SocketException e) {
            throw new IOException("cannot reach the node with data dir " + dataDir + ": " + e.getMessage(), e);
        }
    }

    @Override public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // best effort
        }
    }
}
