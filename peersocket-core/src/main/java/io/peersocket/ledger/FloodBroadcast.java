package io.peersocket.ledger;

import io.peersocket.despatch.Despatcher;
import io.peersocket.despatch.Message;
import io.peersocket.identity.PeerId;
import io.peersocket.util.Counters;
import io.peersocket.util.EventLoop;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * {@link LedgerBroadcast} by flooding over despatch (seed 003's broadcast, without a mesh): a message goes to every
 * peer {@code peers} returns; a receiver that has not seen it (seen-set of SHA-256(topic ‖ data), last
 * {@link #SEEN_CAPACITY}) hands it to the topic handler and, if the verdict is ACCEPT, sends it on to its peers
 * except the sender. Wire: despatch message {@link #TYPE} ({@code LEDGER_BCAST}), payload
 * {@code len(topic)(1) ‖ topic ‖ data}.
 *
 * <p>Threading: state on the event loop.
 */
public final class FloodBroadcast implements LedgerBroadcast {
    /** Despatch message type. */
    public static final int TYPE = 0x7F00_0220;
    /** Largest data, bytes. */
    public static final int MAX_DATA_BYTES = Block.MAX_BYTES;
    /** Remembered message digests. */
    public static final int SEEN_CAPACITY = 16_384;

    private final Despatcher despatcher;
    private final EventLoop loop;
    private final Supplier<Collection<PeerId>> peers;
    private final Predicate<PeerId> accept;
    private final Counters counters;
    private final Map<String, Handler> handlers = new ConcurrentHashMap<>();
    private final Map<String, Boolean> seen = new LinkedHashMap<>(1024, 0.75f, false) {
        @Override protected boolean removeEldestEntry(Map.Entry<String, Boolean> e) { return size() > SEEN_CAPACITY; }
    };

    /**
     * @param peers the peers to flood to (called on the loop)
     * @param accept whether to take messages from a peer at all (banned peers: no)
     */
    public FloodBroadcast(Despatcher despatcher, EventLoop loop, Supplier<Collection<PeerId>> peers, Predicate<PeerId> accept,
                          Counters counters) {
        this.despatcher = despatcher;
        this.loop = loop;
        this.peers = peers;
        this.accept = accept;
        this.counters = counters;
        despatcher.register(TYPE, "LEDGER_BCAST", this::onMessage);
    }

    @Override public void subscribe(String topic, Handler handler) { handlers.put(topic, handler); }

    @Override public void publish(String topic, byte[] data) {
        byte[] frame = encode(topic, data);
        loop.execute(() -> {
            seen.put(key(topic, data), Boolean.TRUE);
            forward(null, frame);
        });
    }

    static byte[] encode(String topic, byte[] data) {
        byte[] t = topic.getBytes(StandardCharsets.UTF_8);
        if (t.length < 1 || t.length > 255) throw new IllegalArgumentException("topic must be 1..255 bytes");
        if (data.length > MAX_DATA_BYTES) throw new IllegalArgumentException("broadcast data over " + MAX_DATA_BYTES + " bytes");
        return ByteBuffer.allocate(1 + t.length + data.length).put((byte) t.length).put(t).put(data).array();
    }

    private static String key(String topic, byte[] data) { return Bytes.hex(Bytes.sha256(Bytes.utf8(topic), data)); }

    private void onMessage(Message m) {
        byte[] p = m.payload();
        if (p.length < 1 || p.length < 1 + (p[0] & 0xFF) || p.length - 1 - (p[0] & 0xFF) > MAX_DATA_BYTES) {
            counters.increment("ledger.bcast.malformed");
            return;
        }
        int tl = p[0] & 0xFF;
        String topic = new String(p, 1, tl, StandardCharsets.UTF_8);
        byte[] data = java.util.Arrays.copyOfRange(p, 1 + tl, p.length);
        PeerId from = m.peer();
        loop.execute(() -> {
            if (!accept.test(from)) {
                counters.increment("ledger.bcast.refused");
                return;
            }
            String k = key(topic, data);
            if (seen.containsKey(k)) {
                counters.increment("ledger.bcast.duplicate");
                return;
            }
            seen.put(k, Boolean.TRUE);
            Handler h = handlers.get(topic);
            if (h == null) return;
            Verdict v;
            try {
                v = h.onMessage(from, data);
            } catch (RuntimeException e) {
                v = Verdict.IGNORE;
            }
            if (v == Verdict.ACCEPT) forward(from, p);
        });
    }

    private void forward(PeerId except, byte[] frame) {
        for (PeerId peer : peers.get()) {
            if (peer.equals(except)) continue;
            despatcher.send(peer, TYPE, frame).exceptionally(e -> {
                counters.increment("ledger.bcast.send_failed");
                return null;
            });
        }
    }
}
