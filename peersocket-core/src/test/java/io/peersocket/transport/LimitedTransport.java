package io.peersocket.transport;

import io.peersocket.identity.PeerId;
import io.peersocket.identity.PublicKey;
import io.peersocket.multiaddr.Multiaddr;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;
import java.util.function.BooleanSupplier;

/**
 * Test support: a {@link Transport} decorator that presents some of its connections as limited
 * ({@link Connection#isLimited()}), to stand in for a relayed connection over a real transport (e.g. QUIC on
 * loopback). Whether a connection is limited is decided once, when it first shows up (its {@code onConnection}
 * upcall or its dial completing), by asking {@code limitedNow}. Every connection, stream and upcall the node sees is
 * the wrapped one, so {@code stream.connection()} and {@code message.connection()} report the flag too.
 *
 * <p>Use as a {@code NodeBuilder.transport} factory: {@code .transport(LimitedTransport.factory(QuicTransport::new,
 * flag::get))}.
 */
public final class LimitedTransport implements Transport {
    private final Transport inner;
    private final BooleanSupplier limitedNow;
    private final Map<Connection, Wrapped> wrapped = new IdentityHashMap<>(); // guarded by itself

    private LimitedTransport(BiFunction<TransportConfig, TransportHandler, Transport> factory, TransportConfig config,
                             TransportHandler handler, BooleanSupplier limitedNow) {
        this.limitedNow = limitedNow;
        this.inner = factory.apply(config, new Handler(handler));
    }

    public static BiFunction<TransportConfig, TransportHandler, Transport> factory(
            BiFunction<TransportConfig, TransportHandler, Transport> inner, BooleanSupplier limitedNow) {
        return (config, handler) -> new LimitedTransport(inner, config, handler, limitedNow);
    }

    /** The wrapper of {@code raw}, made (and its limited flag decided) on first sight. */
    Wrapped wrap(Connection raw) {
        synchronized (wrapped) {
            return wrapped.computeIfAbsent(raw, c -> new Wrapped(c, limitedNow.getAsBoolean()));
        }
    }

    private void forget(Connection raw) {
        synchronized (wrapped) {
            wrapped.remove(raw);
        }
    }

    @Override public CompletableFuture<List<Multiaddr>> listen(List<Multiaddr> addresses) { return inner.listen(addresses); }

    @Override public List<Multiaddr> listenAddresses() { return inner.listenAddresses(); }

    @Override public CompletableFuture<Connection> dial(Multiaddr address, PeerId expected) {
        return inner.dial(address, expected).thenApply(this::wrap);
    }

    @Override public boolean canDial(Multiaddr address) { return inner.canDial(address); }

    @Override public List<Connection> connections() {
        return inner.connections().stream().map(c -> (Connection) wrap(c)).toList();
    }

    @Override public CompletableFuture<Void> closeAsync() { return inner.closeAsync(); }

    @Override public void close() { inner.close(); }

    private final class Handler implements TransportHandler {
        final TransportHandler outer;

        Handler(TransportHandler outer) { this.outer = outer; }

        @Override public void onConnection(Connection c) { outer.onConnection(wrap(c)); }

        @Override public StreamHandler onStream(Stream s) {
            Wrapped c = wrap(s.connection());
            WrappedStream ws = new WrappedStream(s, c);
            StreamHandler h = outer.onStream(ws);
            return h == StreamHandler.REJECT || h == null ? h : new WrappedHandler(h, c, ws);
        }

        @Override public void onDatagram(Connection c, byte[] data) { outer.onDatagram(wrap(c), data); }

        @Override public void onConnectionClosed(Connection c, String reason) {
            Wrapped w = wrap(c);
            forget(c);
            outer.onConnectionClosed(w, reason);
        }
    }

    /** A connection presented with a fixed {@link #isLimited()}. */
    static final class Wrapped implements Connection {
        final Connection raw;
        final boolean limited;

        Wrapped(Connection raw, boolean limited) {
            this.raw = raw;
            this.limited = limited;
        }

        @Override public long id() { return raw.id(); }

        @Override public PeerId remotePeer() { return raw.remotePeer(); }

        @Override public PublicKey remotePublicKey() { return raw.remotePublicKey(); }

        @Override public Multiaddr remoteAddress() { return raw.remoteAddress(); }

        @Override public Multiaddr localAddress() { return raw.localAddress(); }

        @Override public Direction direction() { return raw.direction(); }

        @Override public boolean isOpen() { return raw.isOpen(); }

        @Override public boolean isLimited() { return limited; }

        @Override public CompletableFuture<Stream> openStream(StreamHandler handler) {
            WrappedHandler h = new WrappedHandler(handler, this, null);
            return raw.openStream(h).thenApply(h::stream);
        }

        @Override public boolean sendDatagram(byte[] data) { return !limited && raw.sendDatagram(data); }

        @Override public int maxDatagramSize() { return limited ? 0 : raw.maxDatagramSize(); }

        @Override public CompletableFuture<Void> close() { return raw.close(); }

        @Override public String toString() { return (limited ? "limited " : "") + raw; }
    }

    static final class WrappedStream implements Stream {
        final Stream raw;
        final Wrapped connection;

        WrappedStream(Stream raw, Wrapped connection) {
            this.raw = raw;
            this.connection = connection;
        }

        @Override public long id() { return raw.id(); }

        @Override public Connection connection() { return connection; }

        @Override public boolean isOutbound() { return raw.isOutbound(); }

        @Override public CompletableFuture<Void> write(byte[] data) { return raw.write(data); }

        @Override public boolean isWritable() { return raw.isWritable(); }

        @Override public CompletableFuture<Void> closeWrite() { return raw.closeWrite(); }

        @Override public void reset() { raw.reset(); }

        @Override public void close() { raw.close(); }
    }

    /** Passes a stream's upcalls on with the wrapped stream. */
    static final class WrappedHandler implements StreamHandler {
        final StreamHandler outer;
        final Wrapped connection;
        private WrappedStream stream;

        WrappedHandler(StreamHandler outer, Wrapped connection, WrappedStream stream) {
            this.outer = outer;
            this.connection = connection;
            this.stream = stream;
        }

        synchronized WrappedStream stream(Stream raw) {
            if (stream == null) stream = new WrappedStream(raw, connection);
            return stream;
        }

        @Override public void onData(Stream s, byte[] data) { outer.onData(stream(s), data); }

        @Override public void onRemoteWriteClosed(Stream s) { outer.onRemoteWriteClosed(stream(s)); }

        @Override public void onClosed(Stream s, Throwable cause) { outer.onClosed(stream(s), cause); }
    }
}
