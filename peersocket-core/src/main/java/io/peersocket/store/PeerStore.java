package io.peersocket.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Peers and their multiaddrs (seed 000: the list of peers we connected to, in recency order, that "endures
 * in an sql database between reboots"). Obtained from {@link Store#peers()}.
 *
 * <p>Peer ids and multiaddrs are plain strings here; the caller converts to and from {@code PeerId} and
 * {@code Multiaddr}. Times are ms on the caller's clock, {@code >= 0}. Each method validates its arguments at
 * once, throwing {@link IllegalArgumentException} (naming the bad argument) or {@link NullPointerException}
 * on the calling thread; the database work itself is enqueued and its outcome is the returned future (see
 * {@link Store} for ordering, batching and failure rules). Every write except {@link #remove} creates an
 * unknown peer, with first and last seen set to its time.
 *
 * <p>Bounds: at most {@value #MAX_ADDRESSES_PER_PEER} addresses are kept per peer (the least recently seen are
 * dropped); an address is at most {@value #MAX_ADDRESS_LENGTH} chars.
 */
public final class PeerStore {
    /** Most multiaddrs kept per peer, and most accepted in one call. */
    public static final int MAX_ADDRESSES_PER_PEER = 64;
    /** Longest multiaddr text accepted, chars. */
    public static final int MAX_ADDRESS_LENGTH = 1024;
    /** Longest peer id text accepted, chars. */
    public static final int MAX_PEER_ID_LENGTH = 256;
    /** Longest agent string accepted, chars. */
    public static final int MAX_AGENT_LENGTH = 256;
    /** Longest address source label accepted, chars. */
    public static final int MAX_SOURCE_LENGTH = 64;
    /** Largest public key accepted, bytes. */
    public static final int MAX_PUBLIC_KEY_BYTES = 4096;
    /** The source recorded for the addresses given to {@link #recordConnected}. */
    public static final String SOURCE_CONNECTED = "connected";

    private static final int MAX_FAILURES = 1_000_000_000;

    private static final String UPSERT_CONNECTED = """
            INSERT INTO peers (peer_id, first_seen, last_seen, last_connected, connect_failures)
            VALUES (?, ?, ?, ?, 0)
            ON CONFLICT (peer_id) DO UPDATE SET
                first_seen = min(first_seen, excluded.first_seen),
                last_seen = max(last_seen, excluded.last_seen),
                last_connected = max(coalesce(last_connected, excluded.last_connected), excluded.last_connected),
                connect_failures = 0""";
    private static final String UPSERT_SEEN = """
            INSERT INTO peers (peer_id, first_seen, last_seen) VALUES (?, ?, ?)
            ON CONFLICT (peer_id) DO UPDATE SET
                first_seen = min(first_seen, excluded.first_seen),
                last_seen = max(last_seen, excluded.last_seen)""";
    private static final String UPSERT_FAILURE = """
            INSERT INTO peers (peer_id, first_seen, last_seen, connect_failures, last_failure) VALUES (?, ?, ?, 1, ?)
            ON CONFLICT (peer_id) DO UPDATE SET
                connect_failures = min(connect_failures + 1, %d),
                last_failure = max(coalesce(last_failure, excluded.last_failure), excluded.last_failure)"""
            .formatted(MAX_FAILURES);
    private static final String UPSERT_AGENT = """
            INSERT INTO peers (peer_id, first_seen, last_seen, agent) VALUES (?, ?, ?, ?)
            ON CONFLICT (peer_id) DO UPDATE SET agent = excluded.agent""";
    private static final String UPSERT_KEY = """
            INSERT INTO peers (peer_id, first_seen, last_seen, public_key) VALUES (?, ?, ?, ?)
            ON CONFLICT (peer_id) DO UPDATE SET public_key = excluded.public_key""";
    private static final String UPSERT_ADDRESS = """
            INSERT INTO peer_addresses (peer_id, multiaddr, first_seen, last_seen, source) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (peer_id, multiaddr) DO UPDATE SET
                first_seen = min(first_seen, excluded.first_seen),
                source = CASE WHEN excluded.last_seen >= last_seen THEN excluded.source ELSE source END,
                last_seen = max(last_seen, excluded.last_seen)""";
    private static final String COUNT_ADDRESSES = "SELECT count(*) FROM peer_addresses WHERE peer_id = ?";
    private static final String PRUNE_ADDRESSES = """
            DELETE FROM peer_addresses WHERE peer_id = ? AND rowid NOT IN (
                SELECT rowid FROM peer_addresses WHERE peer_id = ? ORDER BY last_seen DESC, rowid DESC LIMIT %d)"""
            .formatted(MAX_ADDRESSES_PER_PEER);
    private static final String PEER_COLUMNS =
            "peer_id, public_key, first_seen, last_seen, last_connected, connect_failures, last_failure, agent";
    private static final String SELECT_RECENT = "SELECT " + PEER_COLUMNS
            + " FROM peers ORDER BY last_connected DESC, last_seen DESC, peer_id LIMIT ?";
    private static final String SELECT_ONE = "SELECT " + PEER_COLUMNS + " FROM peers WHERE peer_id = ?";
    private static final String SELECT_ADDRESSES = """
            SELECT multiaddr, first_seen, last_seen, source FROM peer_addresses
            WHERE peer_id = ? ORDER BY last_seen DESC, rowid DESC""";

    private final Store store;

    PeerStore(Store store) {
        this.store = store;
    }

    /**
     * Records a successful connection to {@code peerId} at {@code timeMs}: sets its last connected and last
     * seen times (never moving them back), resets its failure count, and records {@code addrs} (the
     * multiaddrs it was reached on or listens on) with source {@link #SOURCE_CONNECTED}.
     *
     * @param addrs at most {@value #MAX_ADDRESSES_PER_PEER}, may be empty; duplicates are ignored
     * @throws IllegalArgumentException if an argument is out of bounds (named in the message)
     */
    public CompletableFuture<Void> recordConnected(String peerId, List<String> addrs, long timeMs) {
        checkPeerId(peerId);
        List<String> list = checkAddresses(addrs);
        checkTime(timeMs);
        return store.write("peers.recordConnected", db -> {
            PreparedStatement ps = db.prepare(UPSERT_CONNECTED);
            ps.setString(1, peerId);
            ps.setLong(2, timeMs);
            ps.setLong(3, timeMs);
            ps.setLong(4, timeMs);
            ps.executeUpdate();
            upsertAddresses(db, peerId, list, timeMs, SOURCE_CONNECTED);
            return null;
        });
    }

    /**
     * Records multiaddrs learned for {@code peerId} at {@code timeMs} (from identify, peer exchange, the DHT,
     * configuration, …): each address's last seen time and source are updated; the peer's last seen time
     * moves forward to {@code timeMs}. Beyond {@value #MAX_ADDRESSES_PER_PEER} addresses per peer the least
     * recently seen are dropped.
     *
     * @param addrs at most {@value #MAX_ADDRESSES_PER_PEER}, may be empty; duplicates are ignored
     * @param source label of who told us, 1 to {@value #MAX_SOURCE_LENGTH} chars
     * @throws IllegalArgumentException if an argument is out of bounds (named in the message)
     */
    public CompletableFuture<Void> recordAddresses(String peerId, List<String> addrs, long timeMs, String source) {
        checkPeerId(peerId);
        List<String> list = checkAddresses(addrs);
        checkTime(timeMs);
        checkText("source", source, MAX_SOURCE_LENGTH);
        return store.write("peers.recordAddresses", db -> {
            PreparedStatement ps = db.prepare(UPSERT_SEEN);
            ps.setString(1, peerId);
            ps.setLong(2, timeMs);
            ps.setLong(3, timeMs);
            ps.executeUpdate();
            upsertAddresses(db, peerId, list, timeMs, source);
            return null;
        });
    }

    /**
     * Records a failed dial to {@code peerId} at {@code timeMs}: adds one to its failure count (reset by
     * {@link #recordConnected}) and sets its last failure time. Does not change its last seen time.
     *
     * @throws IllegalArgumentException if an argument is out of bounds
     */
    public CompletableFuture<Void> recordDialFailure(String peerId, long timeMs) {
        checkPeerId(peerId);
        checkTime(timeMs);
        return store.write("peers.recordDialFailure", db -> {
            PreparedStatement ps = db.prepare(UPSERT_FAILURE);
            ps.setString(1, peerId);
            ps.setLong(2, timeMs);
            ps.setLong(3, timeMs);
            ps.setLong(4, timeMs);
            ps.executeUpdate();
            return null;
        });
    }

    /**
     * Sets the agent version string of {@code peerId} (from identify); {@code timeMs} is used only if the
     * peer is new.
     *
     * @param agent at most {@value #MAX_AGENT_LENGTH} chars, or null to clear
     * @throws IllegalArgumentException if an argument is out of bounds
     */
    public CompletableFuture<Void> setAgent(String peerId, String agent, long timeMs) {
        checkPeerId(peerId);
        checkTime(timeMs);
        if (agent != null && agent.length() > MAX_AGENT_LENGTH) {
            throw new IllegalArgumentException(
                    "agent is " + agent.length() + " chars, more than " + MAX_AGENT_LENGTH);
        }
        return store.write("peers.setAgent", db -> {
            PreparedStatement ps = db.prepare(UPSERT_AGENT);
            ps.setString(1, peerId);
            ps.setLong(2, timeMs);
            ps.setLong(3, timeMs);
            ps.setString(4, agent);
            ps.executeUpdate();
            return null;
        });
    }

    /**
     * Sets the public key of {@code peerId} (protobuf-encoded libp2p {@code PublicKey}; the store does not
     * check that it matches the peer id); {@code timeMs} is used only if the peer is new.
     *
     * @param publicKey at most {@value #MAX_PUBLIC_KEY_BYTES} bytes (copied), or null to clear
     * @throws IllegalArgumentException if an argument is out of bounds
     */
    public CompletableFuture<Void> setPublicKey(String peerId, byte[] publicKey, long timeMs) {
        checkPeerId(peerId);
        checkTime(timeMs);
        if (publicKey != null && publicKey.length > MAX_PUBLIC_KEY_BYTES) {
            throw new IllegalArgumentException(
                    "publicKey is " + publicKey.length + " bytes, more than " + MAX_PUBLIC_KEY_BYTES);
        }
        byte[] key = publicKey == null ? null : publicKey.clone();
        return store.write("peers.setPublicKey", db -> {
            PreparedStatement ps = db.prepare(UPSERT_KEY);
            ps.setString(1, peerId);
            ps.setLong(2, timeMs);
            ps.setLong(3, timeMs);
            ps.setBytes(4, key);
            ps.executeUpdate();
            return null;
        });
    }

    /**
     * Forgets {@code peerId} and its addresses.
     *
     * @return completes with whether the peer was known
     */
    public CompletableFuture<Boolean> remove(String peerId) {
        checkPeerId(peerId);
        return store.write("peers.remove", db -> db.update("DELETE FROM peers WHERE peer_id = ?", peerId) > 0);
    }

    /**
     * Forgets peers that have no address and were last seen before {@code cutoffMs}: they cannot be dialled and
     * only fill the table — e.g. AutoNAT dial-backs, which come from a fresh identity each time, or inbound-only
     * peers that never told us where they listen.
     *
     * @return completes with the number of peers removed
     */
    public CompletableFuture<Integer> pruneAddressless(long cutoffMs) {
        return store.write("peers.pruneAddressless", db -> db.update("""
                DELETE FROM peers WHERE last_seen < ?
                  AND NOT EXISTS (SELECT 1 FROM peer_addresses a WHERE a.peer_id = peers.peer_id)""", cutoffMs));
    }

    /**
     * Up to {@code limit} known peers in recency order: peers we connected to first, most recently connected
     * first; then peers never connected to, most recently seen first (ties by peer id).
     *
     * @param limit {@code >= 0}
     */
    public CompletableFuture<List<PeerRecord>> knownPeers(int limit) {
        if (limit < 0) {
            throw new IllegalArgumentException("limit must be >= 0, got " + limit);
        }
        return store.read("peers.knownPeers", db -> {
            PreparedStatement ps = db.prepare(SELECT_RECENT);
            ps.setInt(1, limit);
            List<PeerRow> rows = readRows(ps);
            List<PeerRecord> out = new ArrayList<>(rows.size());
            for (PeerRow row : rows) {
                out.add(row.toRecord(addresses(db, row.peerId)));
            }
            return out;
        });
    }

    /** The record of {@code peerId}, or empty if unknown. */
    public CompletableFuture<Optional<PeerRecord>> peer(String peerId) {
        checkPeerId(peerId);
        return store.read("peers.peer", db -> {
            PreparedStatement ps = db.prepare(SELECT_ONE);
            ps.setString(1, peerId);
            List<PeerRow> rows = readRows(ps);
            return rows.isEmpty()
                    ? Optional.empty()
                    : Optional.of(rows.get(0).toRecord(addresses(db, peerId)));
        });
    }

    /** The number of known peers. */
    public CompletableFuture<Long> count() {
        return store.read("peers.count", db -> {
            try (ResultSet rs = db.prepare("SELECT count(*) FROM peers").executeQuery()) {
                return rs.next() ? rs.getLong(1) : 0L;
            }
        });
    }

    // ---------------------------------------------------------------------------------------------- internals

    private static void upsertAddresses(Db db, String peerId, List<String> addrs, long timeMs, String source)
            throws SQLException {
        if (addrs.isEmpty()) {
            return;
        }
        PreparedStatement ps = db.prepare(UPSERT_ADDRESS);
        for (String addr : addrs) {
            ps.setString(1, peerId);
            ps.setString(2, addr);
            ps.setLong(3, timeMs);
            ps.setLong(4, timeMs);
            ps.setString(5, source);
            ps.executeUpdate();
        }
        PreparedStatement count = db.prepare(COUNT_ADDRESSES);
        count.setString(1, peerId);
        long n;
        try (ResultSet rs = count.executeQuery()) {
            n = rs.next() ? rs.getLong(1) : 0;
        }
        if (n > MAX_ADDRESSES_PER_PEER) {
            PreparedStatement prune = db.prepare(PRUNE_ADDRESSES);
            prune.setString(1, peerId);
            prune.setString(2, peerId);
            prune.executeUpdate();
        }
    }

    private static List<KnownAddress> addresses(Db db, String peerId) throws SQLException {
        PreparedStatement ps = db.prepare(SELECT_ADDRESSES);
        ps.setString(1, peerId);
        List<KnownAddress> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new KnownAddress(rs.getString(1), rs.getLong(2), rs.getLong(3), rs.getString(4)));
            }
        }
        return out;
    }

    private static List<PeerRow> readRows(PreparedStatement ps) throws SQLException {
        List<PeerRow> rows = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                rows.add(new PeerRow(
                        rs.getString(1),
                        rs.getBytes(2),
                        rs.getLong(3),
                        rs.getLong(4),
                        longOrNever(rs, 5),
                        rs.getInt(6),
                        longOrNever(rs, 7),
                        rs.getString(8)));
            }
        }
        return rows;
    }

    private static long longOrNever(ResultSet rs, int column) throws SQLException {
        long v = rs.getLong(column);
        return rs.wasNull() ? PeerRecord.NEVER : v;
    }

    private record PeerRow(String peerId, byte[] publicKey, long firstSeen, long lastSeen, long lastConnected,
            int failures, long lastFailure, String agent) {
        PeerRecord toRecord(List<KnownAddress> addrs) {
            return new PeerRecord(peerId, addrs, lastConnected, lastSeen, failures, agent, firstSeen, lastFailure,
                    publicKey);
        }
    }

    private static void checkPeerId(String peerId) {
        checkText("peerId", peerId, MAX_PEER_ID_LENGTH);
    }

    private static void checkText(String what, String s, int max) {
        Objects.requireNonNull(s, what);
        if (s.isEmpty()) {
            throw new IllegalArgumentException(what + " is empty");
        }
        if (s.length() > max) {
            throw new IllegalArgumentException(what + " is " + s.length() + " chars, more than " + max);
        }
    }

    private static void checkTime(long timeMs) {
        if (timeMs < 0) {
            throw new IllegalArgumentException("timeMs must be >= 0, got " + timeMs);
        }
    }

    private static List<String> checkAddresses(List<String> addrs) {
        Objects.requireNonNull(addrs, "addrs");
        if (addrs.size() > MAX_ADDRESSES_PER_PEER) {
            throw new IllegalArgumentException(
                    "addrs has " + addrs.size() + " multiaddrs, more than " + MAX_ADDRESSES_PER_PEER);
        }
        LinkedHashSet<String> unique = new LinkedHashSet<>();
        for (int i = 0; i < addrs.size(); i++) {
            String a = addrs.get(i);
            if (a == null) {
                throw new NullPointerException("addrs[" + i + "] is null");
            }
            if (a.isEmpty() || a.charAt(0) != '/') {
                throw new IllegalArgumentException("addrs[" + i + "] is not a multiaddr (must start with '/')");
            }
            if (a.length() > MAX_ADDRESS_LENGTH) {
                throw new IllegalArgumentException(
                        "addrs[" + i + "] is " + a.length() + " chars, more than " + MAX_ADDRESS_LENGTH);
            }
            unique.add(a);
        }
        return List.copyOf(unique);
    }
}
