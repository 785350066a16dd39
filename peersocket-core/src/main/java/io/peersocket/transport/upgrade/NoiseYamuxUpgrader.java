package io.peersocket.transport.upgrade;

import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.identity.PublicKey;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.negotiation.Multistream;
import io.peersocket.negotiation.ProtocolHandler;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportException;
import io.peersocket.transport.TransportHandler;
import io.peersocket.util.EventLoop;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.bouncycastle.crypto.params.X25519PrivateKeyParameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The libp2p upgrade of a raw pipe (libp2p specs connections/README.md "Upgrading connections"):
 * multistream-select {@value #NOISE}; Noise {@code XX_25519_ChaChaPoly_SHA256} with the libp2p identity payload
 * (noise/README.md: a fresh X25519 static key per connection, signed by the host key); multistream-select
 * {@value #YAMUX} inside the secure channel; then a {@link YamuxConnection}. Byte-compatible with
 * go-/js-/rust-libp2p.
 *
 * <p>Threading: {@link #start} may be called from any thread (the work runs on {@code loop}); the
 * {@link Upgrader.Upgrade#input()} must be fed on {@code loop}, which also runs every upcall. Failures: the
 * connection future fails with {@link TransportException} — {@code REFUSED} (negotiation or Noise failure),
 * {@code BAD_CERTIFICATE} (identity signature does not verify), {@code PEER_ID_MISMATCH}, {@code TIMEOUT}
 * ({@link UpgraderConfig#handshakeTimeoutMs()}) — and the pipe is reset.
 */
public final class NoiseYamuxUpgrader implements Upgrader {
    /** multistream-select id of the libp2p Noise handshake. */
    public static final String NOISE = "/noise";
    /** multistream-select id of the Yamux muxer. */
    public static final String YAMUX = "/yamux/1.0.0";

    private static final Logger log = LoggerFactory.getLogger(NoiseYamuxUpgrader.class);

    private final HostKey hostKey;
    private final EventLoop loop;
    private final UpgraderConfig config;
    private final SecureRandom random = new SecureRandom();

    /**
     * @param hostKey this node's identity, proven in the Noise payload
     * @param loop the node's event loop: feeds, upcalls and timers run here
     * @param config limits and timeouts
     */
    public NoiseYamuxUpgrader(HostKey hostKey, EventLoop loop, UpgraderConfig config) {
        this.hostKey = Objects.requireNonNull(hostKey, "hostKey");
        this.loop = Objects.requireNonNull(loop, "loop");
        this.config = Objects.requireNonNull(config, "config");
    }

    /** With {@link UpgraderConfig#defaults()}. */
    public NoiseYamuxUpgrader(HostKey hostKey, EventLoop loop) { this(hostKey, loop, UpgraderConfig.defaults()); }

    @Override public Upgrade start(Stream raw, Role role, PeerId expectedRemote, Multiaddr remoteAddress,
                                   Multiaddr localAddress, boolean limited, TransportHandler handler) {
        Objects.requireNonNull(raw, "raw");
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(handler, "handler");
        Session s = new Session(raw, role == Role.INITIATOR, expectedRemote, remoteAddress, localAddress, limited, handler);
        if (loop.inEventLoop()) s.begin();
        else loop.execute(s::begin);
        return new Upgrade(s, s.result);
    }

    /** One upgrade: the raw pipe's bytes go through {@link #current} (multistream, then Noise, then secure). */
    private final class Session implements StreamHandler {
        final CompletableFuture<Connection> result = new CompletableFuture<>();
        private final Stream raw;
        private final boolean initiator;
        private final PeerId expected;
        private final Multiaddr remoteAddress;
        private final Multiaddr localAddress;
        private final boolean limited;
        private final TransportHandler handler;
        private final List<byte[]> early = new ArrayList<>();
        private StreamHandler current;
        private EventLoop.Cancellable timer;
        private NoiseFrameDecoder frames;
        private NoiseHandshake hs;
        private PublicKey remoteKey;
        private SecureStream secure;
        private YamuxConnection conn;
        private boolean failed;
        private boolean pipeEnded;

        Session(Stream raw, boolean initiator, PeerId expected, Multiaddr remoteAddress, Multiaddr localAddress,
                boolean limited, TransportHandler handler) {
            this.raw = raw;
            this.initiator = initiator;
            this.expected = expected;
            this.remoteAddress = remoteAddress;
            this.localAddress = localAddress;
            this.limited = limited;
            this.handler = handler;
        }

        void begin() {
            if (failed) return;
            timer = loop.schedule(() -> fail(new TransportException(TransportException.Kind.TIMEOUT,
                    "upgrade did not finish within " + config.handshakeTimeoutMs() + " ms")), config.handshakeTimeoutMs());
            StreamHandler noiseInput = (s, data) -> onNoiseBytes(data);
            try {
                if (initiator) {
                    Multistream.Selection sel = Multistream.select(raw, List.of(NOISE), id -> {
                        startNoise();
                        return noiseInput;
                    });
                    current = sel.handler();
                    sel.result().whenComplete((n, e) -> {
                        if (e != null) fail(refused("negotiating " + NOISE, e));
                    });
                } else {
                    ProtocolHandler ph = (s, id) -> {
                        startNoise();
                        return noiseInput;
                    };
                    current = Multistream.listener(raw, Map.of(NOISE, ph), reason ->
                            fail(new TransportException(TransportException.Kind.REFUSED, "negotiating " + NOISE + ": " + reason)));
                }
            } catch (RuntimeException e) {
                fail(refused("starting the upgrade", e));
                return;
            }
            for (byte[] d : early) onData(raw, d);
            early.clear();
            if (pipeEnded) onPipeEnded(null);
        }

        private void startNoise() {
            hs = new NoiseHandshake(initiator, new X25519PrivateKeyParameters(random), random);
            frames = new NoiseFrameDecoder();
            if (initiator) raw.write(NoiseFrameDecoder.frame(hs.write(new byte[0])));
        }

        private void onNoiseBytes(byte[] data) {
            if (failed) return;
            try {
                frames.feed(data, this::onNoiseMessage);
            } catch (RuntimeException e) {
                TransportException te = e instanceof TransportException t ? t : refused("noise", e);
                if (conn != null) {
                    log.debug("secure channel of {} broke: {}", conn, te.getMessage());
                    conn.abort("noise: " + te.getMessage());
                } else {
                    fail(te);
                }
            }
        }

        private void onNoiseMessage(byte[] msg) {
            if (failed) return;
            if (secure != null) {
                secure.onMessage(msg);
                return;
            }
            byte[] payload = hs.read(msg);
            if (initiator) { // read message 2: the responder's identity
                remoteKey = NoisePayload.verify(payload, hs.remoteStatic(), expected);
                raw.write(NoiseFrameDecoder.frame(hs.write(NoisePayload.encode(hostKey, hs.localStatic()))));
                established();
            } else if (!hs.isComplete()) { // read message 1
                raw.write(NoiseFrameDecoder.frame(hs.write(NoisePayload.encode(hostKey, hs.localStatic()))));
            } else { // read message 3: the initiator's identity
                remoteKey = NoisePayload.verify(payload, hs.remoteStatic(), expected);
                established();
            }
        }

        private void established() {
            CipherState[] cs = hs.split();
            hs = null;
            secure = new SecureStream(raw, cs[0], cs[1]);
            if (initiator) {
                Multistream.Selection sel = Multistream.select(secure, List.of(YAMUX), id -> openConnection());
                secure.handler = sel.handler();
                sel.result().whenComplete((n, e) -> {
                    if (e != null) fail(refused("negotiating " + YAMUX, e));
                });
            } else {
                ProtocolHandler ph = (s, id) -> openConnection();
                secure.handler = Multistream.listener(secure, Map.of(YAMUX, ph), reason ->
                        fail(new TransportException(TransportException.Kind.REFUSED, "negotiating " + YAMUX + ": " + reason)));
            }
        }

        private StreamHandler openConnection() {
            if (failed) return (s, d) -> {};
            if (timer != null) timer.cancel();
            conn = new YamuxConnection(secure, initiator, remoteKey, remoteAddress, localAddress, limited, handler, loop, config);
            try {
                handler.onConnection(conn);
            } catch (RuntimeException e) {
                log.warn("onConnection failed for {}", conn, e);
            }
            result.complete(conn);
            return conn.input();
        }

        private TransportException refused(String what, Throwable e) {
            Throwable c = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            if (c instanceof TransportException te) return te;
            return new TransportException(TransportException.Kind.REFUSED, what + ": " + c.getMessage(), c);
        }

        private void fail(TransportException e) {
            if (failed || result.isDone()) return;
            failed = true;
            if (timer != null) timer.cancel();
            log.debug("upgrade of {} failed: {}", raw, e.getMessage());
            raw.reset();
            result.completeExceptionally(e);
        }

        @Override public void onData(Stream s, byte[] data) {
            if (current == null) {
                early.add(data);
                return;
            }
            if (failed) return;
            current.onData(raw, data);
        }

        @Override public void onRemoteWriteClosed(Stream s) {
            if (conn != null) conn.input().onRemoteWriteClosed(s);
            else onPipeEnded(null);
        }

        @Override public void onClosed(Stream s, Throwable cause) {
            if (conn != null) conn.input().onClosed(s, cause);
            else onPipeEnded(cause);
        }

        private void onPipeEnded(Throwable cause) {
            if (current == null && !failed) {
                pipeEnded = true;
                return;
            }
            fail(new TransportException(TransportException.Kind.REFUSED, "pipe closed during the upgrade"
                    + (cause == null ? "" : ": " + cause.getMessage())));
        }
    }
}
