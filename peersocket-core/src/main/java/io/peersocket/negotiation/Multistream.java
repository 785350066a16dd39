package io.peersocket.negotiation;

import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.util.FrameDecoder;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * multistream-select 1.0.0 (libp2p specs connections/README.md "Protocol Negotiation"; multiformats
 * multistream-select): each message is an unsigned-varint length, then UTF-8 text ending in {@code \n}. Both
 * sides send {@code /multistream/1.0.0}; the dialer proposes protocol ids one at a time and the listener
 * echoes the one it accepts or answers {@code na}. The listener accepts pipelined proposals and data (bytes
 * after the accepted proposal go to the protocol) and answers {@code ls}.
 *
 * <p>All methods run on the connection's event loop. Bounds: messages ≤ {@value #MAX_MESSAGE_BYTES} bytes,
 * protocol ids ≤ {@value #MAX_PROTOCOL_ID_BYTES} bytes, ≤ {@value #MAX_PROPOSALS} proposals per stream;
 * a peer over a bound gets its stream reset.
 */
public final class Multistream {
    public static final String HEADER = "/multistream/1.0.0";
    public static final String NA = "na";
    public static final String LS = "ls";
    public static final int MAX_MESSAGE_BYTES = 1024;
    public static final int MAX_PROTOCOL_ID_BYTES = 512;
    public static final int MAX_PROPOSALS = 32;

    private Multistream() {}

    /** Encodes one multistream message: varint length, text, newline. */
    public static byte[] encode(String text) {
        return FrameDecoder.frame((text + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Decodes one message payload (without its length) into text.
     *
     * @throws NegotiationException if it lacks the trailing newline, holds another newline or is not UTF-8
     */
    public static String decode(byte[] payload) {
        if (payload.length == 0 || payload[payload.length - 1] != '\n') {
            throw new NegotiationException("multistream message does not end in newline");
        }
        String s = new String(payload, 0, payload.length - 1, StandardCharsets.UTF_8);
        if (s.indexOf('\n') >= 0 || s.indexOf('\uFFFD') >= 0) {
            throw new NegotiationException("multistream message has an embedded newline or invalid UTF-8");
        }
        return s;
    }

    /**
     * The listener side for a stream the remote opened.
     *
     * @param supported protocol id → handler (read at each proposal, so it may change over time)
     * @param onFailure called with the reason when negotiation fails (stream already reset); may be null
     * @return the handler to install on the stream
     */
    public static StreamHandler listener(Stream stream, Map<String, ProtocolHandler> supported,
                                         java.util.function.Consumer<String> onFailure) {
        return new Listener(stream, supported, onFailure);
    }

    /**
     * Opens a stream on {@code connection} and negotiates the first of {@code protocols} the remote
     * supports; the header and first proposal travel in one write.
     *
     * @param handlerFor called with the chosen id once accepted; returns the protocol's stream handler
     * @return completes with the negotiated stream and chosen protocol, or fails with
     *     {@link ProtocolNotSupportedException}, {@link NegotiationException} or the transport's exception
     */
    public static CompletableFuture<Negotiated> select(Connection connection, List<String> protocols,
                                                       Function<String, StreamHandler> handlerFor) {
        if (protocols.isEmpty()) throw new IllegalArgumentException("no protocols to propose");
        for (String p : protocols) checkProtocolId(p);
        CompletableFuture<Negotiated> result = new CompletableFuture<>();
        Dialer dialer = new Dialer(protocols, handlerFor, result);
        connection.openStream(dialer).whenComplete((stream, err) -> {
            if (err != null) {
                result.completeExceptionally(err);
                return;
            }
            dialer.start(stream);
        });
        return result;
    }

    /** A stream after negotiation. */
    public record Negotiated(Stream stream, String protocolId) {}

    /**
     * The dialer side on an existing {@code stream} (a raw pipe being upgraded, a secure channel): writes the
     * header and first proposal now, then negotiates like {@link #select(Connection, List, Function)}. The caller
     * must deliver the stream's data to {@link Selection#handler()}, which after negotiation forwards it (including
     * bytes that arrived with the answer) to the protocol's handler.
     *
     * @param handlerFor called with the chosen id once accepted, before {@link Selection#result()} completes
     * @return the handler to feed, and the outcome (fails as {@link #select(Connection, List, Function)} does;
     *     the stream is reset on failure)
     */
    public static Selection select(Stream stream, List<String> protocols, Function<String, StreamHandler> handlerFor) {
        if (protocols.isEmpty()) throw new IllegalArgumentException("no protocols to propose");
        for (String p : protocols) checkProtocolId(p);
        CompletableFuture<Negotiated> result = new CompletableFuture<>();
        Dialer dialer = new Dialer(protocols, handlerFor, result);
        dialer.start(stream);
        return new Selection(dialer, result);
    }

    /** A dialer-side negotiation on an existing stream: feed {@code handler}; {@code result} tells the outcome. */
    public record Selection(StreamHandler handler, CompletableFuture<Negotiated> result) {}

    static void checkProtocolId(String id) {
        if (id.isEmpty() || id.getBytes(StandardCharsets.UTF_8).length > MAX_PROTOCOL_ID_BYTES || id.indexOf('\n') >= 0) {
            throw new IllegalArgumentException("invalid protocol id: \"" + id + "\"");
        }
    }

    /**
     * What both sides share: frames in, the header checked first, each later message to {@link #onMessage};
     * once a protocol is chosen ({@link #handOver}) every further byte goes to its handler.
     */
    private abstract static class Negotiator implements StreamHandler {
        final FrameDecoder decoder = new FrameDecoder(MAX_MESSAGE_BYTES);
        private boolean headerSeen;
        StreamHandler delegate;

        /** A message after the header. Throws to fail the negotiation. */
        abstract void onMessage(String msg);

        abstract void onFailure(RuntimeException e);

        /** Feeds negotiation bytes; returns normally once they are consumed or handed over. */
        final void feed(Stream s, byte[] data) {
            try {
                decoder.feed(data, payload -> {
                    String msg = decode(payload);
                    if (!headerSeen) {
                        if (!HEADER.equals(msg)) throw new NegotiationException("expected " + HEADER + ", got \"" + msg + "\"");
                        headerSeen = true;
                    } else {
                        onMessage(msg);
                    }
                });
            } catch (RuntimeException e) {
                onFailure(e);
                return;
            }
            if (delegate != null) {
                byte[] rest = decoder.remaining();
                if (rest.length > 0) delegate.onData(s, rest);
            }
        }

        /** The protocol is chosen: stop decoding; the rest of the buffer and later data go to {@code handler}. */
        final void handOver(StreamHandler handler) {
            decoder.stop();
            delegate = handler;
        }
    }

    private static final class Listener extends Negotiator {
        private final Stream stream;
        private final Map<String, ProtocolHandler> supported;
        private final java.util.function.Consumer<String> onFailure;
        private int proposals;
        private boolean failed;

        Listener(Stream stream, Map<String, ProtocolHandler> supported, java.util.function.Consumer<String> onFailure) {
            this.stream = stream;
            this.supported = supported;
            this.onFailure = onFailure;
            stream.write(encode(HEADER));
        }

        @Override public void onData(Stream s, byte[] data) {
            if (delegate != null) {
                delegate.onData(s, data);
                return;
            }
            if (!failed) feed(s, data);
        }

        @Override void onFailure(RuntimeException e) { fail(e.getMessage()); }

        @Override void onMessage(String msg) {
            if (LS.equals(msg)) {
                ByteArrayOutputStream list = new ByteArrayOutputStream();
                for (String id : supported.keySet()) list.writeBytes(encode(id));
                list.write('\n');
                stream.write(FrameDecoder.frame(list.toByteArray()));
                return;
            }
            if (++proposals > MAX_PROPOSALS) throw new NegotiationException("more than " + MAX_PROPOSALS + " proposals");
            ProtocolHandler h = supported.get(msg);
            if (h == null) {
                stream.write(encode(NA));
                return;
            }
            stream.write(encode(msg));
            handOver(h.onNegotiated(stream, msg));
        }

        private void fail(String reason) {
            failed = true;
            stream.reset();
            if (onFailure != null) onFailure.accept(reason);
        }

        @Override public void onRemoteWriteClosed(Stream s) {
            if (delegate != null) delegate.onRemoteWriteClosed(s);
            else stream.reset();
        }

        @Override public void onClosed(Stream s, Throwable cause) {
            if (delegate != null) delegate.onClosed(s, cause);
        }
    }

    private static final class Dialer extends Negotiator {
        private final List<String> protocols;
        private final Function<String, StreamHandler> handlerFor;
        private final CompletableFuture<Negotiated> result;
        private final List<byte[]> early = new ArrayList<>();
        private Stream stream;
        private int next;

        Dialer(List<String> protocols, Function<String, StreamHandler> handlerFor, CompletableFuture<Negotiated> result) {
            this.protocols = protocols;
            this.handlerFor = handlerFor;
            this.result = result;
        }

        void start(Stream s) {
            stream = s;
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(encode(HEADER));
            out.writeBytes(encode(protocols.get(next)));
            s.write(out.toByteArray()).whenComplete((v, err) -> {
                if (err != null) fail(err);
            });
            for (byte[] d : early) onData(s, d);
            early.clear();
        }

        @Override public void onData(Stream s, byte[] data) {
            if (delegate != null) {
                delegate.onData(s, data);
                return;
            }
            if (result.isDone()) return;
            if (stream == null) { // data before openStream's future ran; keep order
                early.add(data);
                return;
            }
            feed(s, data);
        }

        @Override void onFailure(RuntimeException e) {
            fail(e instanceof NegotiationException || e instanceof ProtocolNotSupportedException
                    ? e : new NegotiationException(e.getMessage()));
        }

        @Override void onMessage(String msg) {
            String proposed = protocols.get(next);
            if (msg.equals(proposed)) {
                handOver(handlerFor.apply(proposed));
                result.complete(new Negotiated(stream, proposed));
                return;
            }
            if (!NA.equals(msg)) throw new NegotiationException("unexpected answer \"" + msg + "\" to proposal " + proposed);
            if (++next >= protocols.size()) {
                throw new ProtocolNotSupportedException("remote supports none of " + protocols);
            }
            stream.write(encode(protocols.get(next)));
        }

        private void fail(Throwable e) {
            if (result.completeExceptionally(e) && stream != null) stream.reset();
        }

        @Override public void onRemoteWriteClosed(Stream s) {
            if (delegate != null) delegate.onRemoteWriteClosed(s);
            else fail(new NegotiationException("stream closed during negotiation"));
        }

        @Override public void onClosed(Stream s, Throwable cause) {
            if (delegate != null) delegate.onClosed(s, cause);
            else fail(new NegotiationException("stream closed during negotiation"
                    + (cause == null ? "" : ": " + cause.getMessage())));
        }
    }
}
