package io.peersocket.transport.memory;

import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.multiaddr.Protocol;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Transport;
import io.peersocket.transport.TransportConfig;
import io.peersocket.transport.TransportException;
import io.peersocket.transport.TransportHandler;
import io.peersocket.util.EventLoop;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An in-memory {@link Transport} on a {@link MemoryNetwork}: a second implementation of the transport contract
 * for deterministic unit tests and simulation, never a stand-in for QUIC in integration tests.
 *
 * <p>Addresses are {@code /memory/<n>} (multiaddr protocol {@code memory}, code 777); listen on
 * {@code /memory/0} to get a fresh {@code n}. A transport that dials before listening gets an ephemeral
 * address that accepts nothing. Connections carry the real {@link PeerId} and public key of each side's
 * {@link HostKey} (there is no TLS, but a dial whose expected peer differs from the listener's fails with
 * {@link TransportException.Kind#PEER_ID_MISMATCH}).
 *
 * <p>Everything the contract promises holds: streams with half-close, reset and close (FIN plus STOP_SENDING),
 * datagrams up to {@link MemoryNetwork#maxDatagramBytes()} (0 if either side disables them), the connection
 * and per-connection stream limits, and all upcalls and future completions on each side's own
 * {@link TransportConfig#eventExecutor()}, one at a time and in order. Two deliberate differences, both
 * because binding and releasing memory is immediate: {@link #listen} completes before it returns (so a caller
 * driving a manual event loop may block on it), and {@link #close} does not wait for the close upcalls, which
 * follow on the executor. The executor must queue tasks, never run them on the submitting thread.
 *
 * <p>Thread-safe; methods may be called from any thread.
 */
public final class MemoryTransport implements Transport {
    private static final Logger log = LoggerFactory.getLogger(MemoryTransport.class);

    final MemoryNetwork net;
    final Object lock;
    final TransportConfig config;
    final TransportHandler handler;
    final Executor executor;
    private final EventLoop loop; // null if the executor is not an event loop

    // Guarded by lock.
    private long addressId; // 0 until bound (listen or first dial)
    private Multiaddr localAddress;
    private boolean listening;
    private boolean closed;
    private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();
    /** Connections not yet closed: established ones and this side's pending dials. */
    final Set<MemoryConnection> conns = new LinkedHashSet<>();
    private volatile List<Multiaddr> listenAddresses = List.of();
    /** Firewall: ids of the remote {@code /memory/<n>} addresses blocked ({@link #block}). Guarded by lock. */
    private final Set<Long> blockedIds = new java.util.TreeSet<>();

    MemoryTransport(MemoryNetwork net, TransportConfig config, TransportHandler handler) {
        this.net = Objects.requireNonNull(net);
        this.lock = net.lock;
        this.config = Objects.requireNonNull(config);
        this.handler = Objects.requireNonNull(handler);
        this.executor = config.eventExecutor();
        this.loop = executor instanceof EventLoop l ? l : null;
    }

    public PeerId peerId() { return config.hostKey().peerId(); }

    public MemoryNetwork network() { return net; }

    /**
     * Binds exactly one address, {@code /memory/<n>} ({@code n} = 0 picks a fresh one).
     *
     * @return already completed with the bound address; failed with {@link TransportException}
     *     {@code BAD_ADDRESS} (not exactly one plain memory address, or a different address than the one this
     *     transport already dials from), {@code IO} (address in use), {@code CLOSED}, or
     *     {@link IllegalStateException} if called twice
     */
    @Override public CompletableFuture<List<Multiaddr>> listen(List<Multiaddr> addresses) {
        synchronized (lock) {
            if (closed) return CompletableFuture.failedFuture(closedException());
            if (listening) return CompletableFuture.failedFuture(new IllegalStateException("already listening on " + localAddress));
            if (addresses.size() != 1) {
                return CompletableFuture.failedFuture(new TransportException(TransportException.Kind.BAD_ADDRESS,
                        "memory transport listens on exactly one /memory/<n> address, got " + addresses));
            }
            Multiaddr a = addresses.get(0);
            if (a.components().size() != 1 || a.components().get(0).protocol() != Protocol.MEMORY
                    || MemoryNetwork.idOf(a) < 0) {
                return CompletableFuture.failedFuture(new TransportException(TransportException.Kind.BAD_ADDRESS,
                        "not a listenable memory address (want /memory/<n>, n < 2^63): " + a));
            }
            long n = MemoryNetwork.idOf(a);
            if (n == 0) {
                if (addressId == 0) addressId = net.allocateIdLocked();
            } else if (addressId != 0 && addressId != n) {
                return CompletableFuture.failedFuture(new TransportException(TransportException.Kind.BAD_ADDRESS,
                        "cannot listen on " + a + ": already bound to " + localAddress));
            } else if (addressId == 0) {
                if (!net.reserveIdLocked(n)) {
                    return CompletableFuture.failedFuture(new TransportException(TransportException.Kind.IO,
                            "address in use: " + a));
                }
                addressId = n;
            }
            localAddress = MemoryNetwork.address(addressId);
            net.registerListenerLocked(addressId, this);
            listening = true;
            listenAddresses = List.of(localAddress);
            return CompletableFuture.completedFuture(listenAddresses);
        }
    }

    @Override public List<Multiaddr> listenAddresses() { return listenAddresses; }

    /** The address this transport accepts on and dials from, or null before {@link #listen} or a dial. */
    public Multiaddr localAddress() {
        synchronized (lock) {
            return localAddress;
        }
    }

    /**
     * Dials {@code /memory/<n>[/p2p/<id>]}. Fails with {@code BAD_ADDRESS} (not a memory address, or this
     * transport's own), {@code LIMIT} (this side's connection limit), {@code REFUSED} (nothing listens there,
     * or the listener is at its connection limit), {@code PEER_ID_MISMATCH}, {@code TIMEOUT} (round trip over
     * the handshake timeout) or {@code CLOSED}.
     */
    @Override public CompletableFuture<Connection> dial(Multiaddr address, PeerId expected) {
        CompletableFuture<Connection> result = new CompletableFuture<>();
        synchronized (lock) {
            if (closed) return failOnExecutor(result, closedException());
            if (!canDial(address)) {
                return failOnExecutor(result, new TransportException(TransportException.Kind.BAD_ADDRESS,
                        "memory transport cannot dial " + address));
            }
            long target = MemoryNetwork.idOf(address);
            PeerId want = expected != null ? expected : address.peerId();
            if (addressId == 0) {
                addressId = net.allocateIdLocked();
                localAddress = MemoryNetwork.address(addressId);
            }
            if (target == addressId) {
                return failOnExecutor(result, new TransportException(TransportException.Kind.BAD_ADDRESS,
                        "cannot dial own address " + localAddress));
            }
            if (conns.size() >= config.maxConnections()) {
                return failOnExecutor(result, new TransportException(TransportException.Kind.LIMIT,
                        "connection limit " + config.maxConnections() + " reached"));
            }
            Multiaddr remote = MemoryNetwork.address(target);
            MemoryTransport listener = net.listenerLocked(target);
            PeerId remotePeer = listener == null ? null : listener.peerId();
            MemoryNetwork.LinkConditions limited = listener == null ? null : net.limitedLocked(peerId(), listener.peerId());
            MemoryConnection c = new MemoryConnection(this, Connection.Direction.OUTBOUND, remote, remotePeer,
                    listener == null ? null : listener.config.hostKey().publicKey(), result, limited);
            conns.add(c);
            long latency = listener == null ? net.linkLocked(peerId(), peerId()).latencyMs()
                    : limited != null ? limited.latencyMs() : net.linkLocked(peerId(), listener.peerId()).latencyMs();
            PeerId remotePeerId = listener != null ? listener.peerId() : want;
            boolean firewalled = blockedIds.contains(target) || (listener != null && listener.blockedIds.contains(addressId));
            if (firewalled || 2 * latency >= config.handshakeTimeoutMs()
                    || (remotePeerId != null && !net.canDialLocked(peerId(), remotePeerId))) {
                c.inbox.postLocked(config.handshakeTimeoutMs(), () -> c.dialFailed(new TransportException(
                        TransportException.Kind.TIMEOUT, "no answer from " + remote + " within "
                        + config.handshakeTimeoutMs() + " ms")));
            } else if (listener == null) {
                c.inbox.postLocked(2 * latency, () -> c.dialFailed(new TransportException(
                        TransportException.Kind.REFUSED, "nothing listens at " + remote)));
            } else {
                MemoryConnection s = new MemoryConnection(listener, Connection.Direction.INBOUND, localAddress,
                        peerId(), config.hostKey().publicKey(), null, limited);
                c.peer = s;
                s.peer = c;
                s.inbox.postLocked(latency, () -> s.accept(target, want, latency));
            }
        }
        return result;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Here: connections (established or being dialled) to or from a blocked {@code /memory/<n>} address break at
     * once on both sides (as {@link MemoryNetwork#breakConnections} does: a cut both sides notice at once, as with a
     * zero idle timeout); later dials either way fail with {@code TIMEOUT} after the handshake timeout.
     *
     * @throws IllegalArgumentException if an address is not {@code /memory/<n>[/p2p/ID]}
     */
    @Override public void block(java.util.Collection<Multiaddr> remotes) {
        List<Long> ids = memoryIds(remotes);
        synchronized (lock) {
            blockedIds.addAll(ids);
            for (MemoryConnection c : new ArrayList<>(conns)) {
                if (c.isClosedLocked() || !blockedIds.contains(MemoryNetwork.idOf(c.remoteAddress()))) continue;
                c.closeLocked("link broken: firewall", false);
                if (c.peer != null) c.peer.closeLocked("link broken: firewall", false);
            }
        }
    }

    /** {@inheritDoc} Addresses as in {@link #block}. */
    @Override public void unblock(java.util.Collection<Multiaddr> remotes) {
        List<Long> ids = memoryIds(remotes);
        synchronized (lock) {
            ids.forEach(blockedIds::remove);
        }
    }

    @Override public Set<Multiaddr> blocked() {
        synchronized (lock) {
            Set<Multiaddr> out = new LinkedHashSet<>();
            for (long id : blockedIds) out.add(MemoryNetwork.address(id));
            return java.util.Collections.unmodifiableSet(out);
        }
    }

    private static List<Long> memoryIds(java.util.Collection<Multiaddr> remotes) {
        Objects.requireNonNull(remotes, "remotes");
        List<Long> ids = new ArrayList<>();
        for (Multiaddr a : remotes) {
            if (a == null || !MemoryNetwork.isMemoryAddress(a)) {
                throw new IllegalArgumentException("memory firewall takes /memory/<n>[/p2p/ID] addresses, not " + a);
            }
            ids.add(MemoryNetwork.idOf(a));
        }
        return ids;
    }

    /** True only for {@code /memory/<n>} optionally followed by {@code /p2p/<id>}. */
    @Override public boolean canDial(Multiaddr address) { return MemoryNetwork.isMemoryAddress(address); }

    @Override public List<Connection> connections() {
        synchronized (lock) {
            List<Connection> out = new ArrayList<>();
            for (MemoryConnection c : conns) if (c.isEstablishedLocked()) out.add(c);
            return out;
        }
    }

    /**
     * Closes every connection (each gets its close upcalls on the executor), fails pending dials with
     * {@code CLOSED} and frees the address. Idempotent. The future completes on the executor after the upcalls.
     */
    @Override public CompletableFuture<Void> closeAsync() {
        synchronized (lock) {
            if (closed) return closeFuture;
            closed = true;
            if (addressId != 0) net.releaseIdLocked(addressId);
            listenAddresses = List.of();
            for (MemoryConnection c : new ArrayList<>(conns)) c.closeLocked("transport closed", true);
            post(() -> closeFuture.complete(null));
            return closeFuture;
        }
    }

    /** {@link #closeAsync()} without waiting: the state is released at once; upcalls follow on the executor. */
    @Override public void close() { closeAsync(); }

    boolean isClosedLocked() { return closed; }

    boolean isListeningOnLocked(long id) { return listening && !closed && addressId == id; }

    Multiaddr localAddressLocked() { return localAddress; }

    long nextConnectionIdLocked() { return net.nextConnectionIdLocked(); }

    static TransportException closedException() {
        return new TransportException(TransportException.Kind.CLOSED, "transport closed");
    }

    // ---- executor and clock -------------------------------------------------------------------------

    /** Runs {@code task} on the executor; failures are logged, never thrown at the caller. */
    void post(Runnable task) {
        executor.execute(() -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                log.error("memory transport upcall failed", e);
            }
        });
    }

    <T> CompletableFuture<T> failOnExecutor(CompletableFuture<T> f, Throwable e) {
        post(() -> f.completeExceptionally(e));
        return f;
    }

    /** This side's clock, ns: the event loop's when there is one, else {@link System#nanoTime()}. */
    long nowNanos() { return loop != null ? loop.nanoTime() : System.nanoTime(); }

    /** Runs {@code pump} on the executor after {@code delayNanos}. */
    void arm(Runnable pump, long delayNanos) {
        if (delayNanos <= 0) {
            executor.execute(pump);
        } else if (loop != null) {
            loop.schedule(pump, (delayNanos + 999_999) / 1_000_000);
        } else {
            net.timer().schedule(() -> executor.execute(pump), delayNanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override public String toString() {
        synchronized (lock) {
            return "MemoryTransport[" + peerId().shortString() + " " + (localAddress == null ? "unbound" : localAddress)
                    + (closed ? ", closed" : "") + "]";
        }
    }
}
