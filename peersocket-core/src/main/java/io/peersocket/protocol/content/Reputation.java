package io.peersocket.protocol.content;

import io.peersocket.identity.PeerId;
import io.peersocket.util.Counters;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What this node thinks of its content counterparties: a score per peer that starts at 0, loses points for bad
 * input (malformed or lying messages, chunks that do not match their address, requests never answered) and
 * slowly gains them back for good deliveries (capped at 0). A peer at or below {@link #BAN_SCORE} is shunned: not
 * asked for chunks, not forwarded to, and its messages are dropped. At most {@value #MAX_PEERS} peers are
 * remembered (least recently penalised forgotten first).
 *
 * <p>Counters: {@code content.reputation.penalty.<reason>}, {@code content.reputation.banned}. Event loop only.
 */
public final class Reputation {
    /** Score at which a peer is shunned. */
    public static final int BAN_SCORE = -100;
    /** Peers remembered. */
    public static final int MAX_PEERS = 4096;

    /** Penalties by offence. */
    public static final int MALFORMED = 50, INVALID_CHUNK = 50, LIED = 50, UNANSWERED = 5, UNSOLICITED = 10;

    private final Counters counters;
    private final Map<PeerId, Integer> scores = new LinkedHashMap<>(16, 0.75f, true) {
        @Override protected boolean removeEldestEntry(Map.Entry<PeerId, Integer> e) { return size() > MAX_PEERS; }
    };

    public Reputation(Counters counters) { this.counters = counters; }

    /** Takes {@code points} from {@code peer} for {@code reason} (a counter name part, e.g. {@code invalid_chunk}). */
    public void penalize(PeerId peer, String reason, int points) {
        counters.increment("content.reputation.penalty." + reason);
        int before = scores.getOrDefault(peer, 0);
        int after = Math.max(-1000, before - points);
        scores.put(peer, after);
        if (before > BAN_SCORE && after <= BAN_SCORE) counters.increment("content.reputation.banned");
    }

    /** One good delivery: +1, up to 0. */
    public void reward(PeerId peer) {
        Integer s = scores.get(peer);
        if (s != null && s < 0) scores.put(peer, s + 1);
    }

    public int score(PeerId peer) { return scores.getOrDefault(peer, 0); }

    /** True if {@code peer} is shunned. */
    public boolean banned(PeerId peer) { return scores.getOrDefault(peer, 0) <= BAN_SCORE; }
}
