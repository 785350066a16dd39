package io.peersocket.protocol.peers;

import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.store.Db;
import io.peersocket.store.Store;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The peer exchange tables of the store (schema migration 3): our connection log ({@code pex_log}), how far each
 * counterparty is up to date with it ({@code pex_cursors}), how far we are up to date with each counterparty's log
 * ({@code pex_sources}), and the peers learned from counterparties ({@code pex_known}). Multiaddr lists are stored as
 * text, one per line. Every method enqueues one unit of work on the store thread (see {@link Store}); callers on the
 * event loop enqueue in order, so the database follows the in-memory state.
 */
final class PexStore {
    private static final Logger log = LoggerFactory.getLogger(PexStore.class);
    static final String LOG_ID_KEY = "pex.log_id";

    private final Store store;

    PexStore(Store store) { this.store = store; }

    /** Everything peer exchange keeps, as read at start. */
    record Loaded(long logId, List<PeerEntry> log, List<Cursor> cursors, List<Source> sources, List<KnownPeer> known) {}

    record Cursor(PeerId peer, long acked, long updatedMs) {}

    record Source(PeerId peer, long logId, long received, long updatedMs) {}

    /** Reads the state (bounded by {@code limits}), creating the log id on first use. */
    CompletableFuture<Loaded> load(PeerExchangeConfig limits) {
        return store.write("pex.load", db -> {
            long logId = loadOrCreateLogId(db);
            List<PeerEntry> entries = new ArrayList<>();
            PreparedStatement ps = db.prepare(
                    "SELECT seq, peer_id, addresses, last_seen FROM pex_log ORDER BY seq DESC LIMIT ?");
            ps.setInt(1, limits.maxListSize());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    PeerId p = peer(rs.getString(2));
                    if (p != null) entries.add(new PeerEntry(rs.getLong(1), p, addresses(rs.getString(3), limits), rs.getLong(4)));
                }
            }
            // Rows beyond the list size (a smaller limit than before) are dropped.
            if (entries.size() == limits.maxListSize()) {
                db.update("DELETE FROM pex_log WHERE seq < ?", entries.get(entries.size() - 1).seq());
            }
            List<Cursor> cursors = new ArrayList<>();
            ps = db.prepare("SELECT peer_id, acked, updated FROM pex_cursors ORDER BY updated DESC LIMIT ?");
            ps.setInt(1, limits.maxCounterparties());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    PeerId p = peer(rs.getString(1));
                    if (p != null) cursors.add(new Cursor(p, rs.getLong(2), rs.getLong(3)));
                }
            }
            List<Source> sources = new ArrayList<>();
            ps = db.prepare("SELECT peer_id, log_id, received, updated FROM pex_sources ORDER BY updated DESC LIMIT ?");
            ps.setInt(1, limits.maxCounterparties());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    PeerId p = peer(rs.getString(1));
                    if (p != null) sources.add(new Source(p, rs.getLong(2), rs.getLong(3), rs.getLong(4)));
                }
            }
            List<KnownPeer> known = new ArrayList<>();
            ps = db.prepare("SELECT peer_id, addresses, last_seen, via FROM pex_known ORDER BY last_seen DESC LIMIT ?");
            ps.setInt(1, limits.maxKnownPeers());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    PeerId p = peer(rs.getString(1)), via = peer(rs.getString(4));
                    if (p != null && via != null) {
                        known.add(new KnownPeer(p, addresses(rs.getString(2), limits), rs.getLong(3), via));
                    }
                }
            }
            return new Loaded(logId, entries.reversed(), cursors, sources, known);
        });
    }

    /** Writes {@code entry} (replacing the peer's older entry) and deletes the evicted seqs. */
    CompletableFuture<Void> append(PeerEntry entry, List<Long> evicted) {
        return store.write("pex.append", db -> {
            db.update("INSERT OR REPLACE INTO pex_log (seq, peer_id, addresses, last_seen) VALUES (?, ?, ?, ?)",
                    entry.seq(), entry.peer().toString(), join(entry.addresses()), entry.lastSeenMs());
            for (long seq : evicted) db.update("DELETE FROM pex_log WHERE seq = ?", seq);
            return null;
        });
    }

    CompletableFuture<Void> setCursor(PeerId peer, long acked, long nowMs, List<PeerId> evicted) {
        return store.write("pex.cursor", db -> {
            db.update("INSERT INTO pex_cursors (peer_id, acked, updated) VALUES (?, ?, ?) ON CONFLICT (peer_id) "
                    + "DO UPDATE SET acked = excluded.acked, updated = excluded.updated", peer.toString(), acked, nowMs);
            for (PeerId p : evicted) db.update("DELETE FROM pex_cursors WHERE peer_id = ?", p.toString());
            return null;
        });
    }

    /** Stores what a delta from {@code source.peer()} taught us, in one transaction. */
    CompletableFuture<Void> received(Source source, List<PeerId> evictedSources, List<KnownPeer> updated,
                                     List<PeerId> evictedKnown) {
        return store.write("pex.received", db -> {
            for (KnownPeer k : updated) {
                db.update("INSERT INTO pex_known (peer_id, addresses, last_seen, via) VALUES (?, ?, ?, ?) "
                        + "ON CONFLICT (peer_id) DO UPDATE SET addresses = excluded.addresses, "
                        + "last_seen = excluded.last_seen, via = excluded.via",
                        k.peer().toString(), join(k.addresses()), k.lastSeenMs(), k.via().toString());
            }
            for (PeerId p : evictedKnown) db.update("DELETE FROM pex_known WHERE peer_id = ?", p.toString());
            upsertSource(db, source);
            for (PeerId p : evictedSources) db.update("DELETE FROM pex_sources WHERE peer_id = ?", p.toString());
            return null;
        });
    }

    CompletableFuture<Void> forgetSource(PeerId peer) {
        return store.write("pex.forgetSource", db -> {
            db.update("DELETE FROM pex_sources WHERE peer_id = ?", peer.toString());
            return null;
        });
    }

    private static void upsertSource(Db db, Source s) throws SQLException {
        db.update("INSERT INTO pex_sources (peer_id, log_id, received, updated) VALUES (?, ?, ?, ?) "
                + "ON CONFLICT (peer_id) DO UPDATE SET log_id = excluded.log_id, received = excluded.received, "
                + "updated = excluded.updated", s.peer().toString(), s.logId(), s.received(), s.updatedMs());
    }

    private static long loadOrCreateLogId(Db db) throws SQLException {
        PreparedStatement ps = db.prepare("SELECT value FROM kv WHERE key = ?");
        ps.setString(1, LOG_ID_KEY);
        try (ResultSet rs = ps.executeQuery()) {
            if (rs.next()) {
                byte[] v = rs.getBytes(1);
                if (v != null && v.length == 8) return ByteBuffer.wrap(v).getLong();
                log.warn("store value {} is not 8 bytes; starting a new peer exchange log", LOG_ID_KEY);
            }
        }
        long id = new SecureRandom().nextLong();
        db.update("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", LOG_ID_KEY,
                ByteBuffer.allocate(8).putLong(id).array());
        // A new log: earlier rows (if any survived without the id) belong to no log anyone holds a cursor for.
        db.update("DELETE FROM pex_log");
        db.update("DELETE FROM pex_cursors");
        return id;
    }

    static String join(List<Multiaddr> addrs) {
        StringBuilder b = new StringBuilder();
        for (Multiaddr a : addrs) {
            if (!b.isEmpty()) b.append('\n');
            b.append(a);
        }
        return b.toString();
    }

    private static List<Multiaddr> addresses(String text, PeerExchangeConfig limits) {
        List<Multiaddr> out = new ArrayList<>();
        if (text == null || text.isEmpty()) return out;
        for (String s : text.split("\n")) {
            if (out.size() >= limits.maxAddressesPerPeer()) break;
            try {
                out.add(Multiaddr.parse(s));
            } catch (IllegalArgumentException e) {
                log.debug("skipping unparseable stored address {}: {}", s, e.getMessage());
            }
        }
        return out;
    }

    private static PeerId peer(String text) {
        try {
            return PeerId.parse(text);
        } catch (IllegalArgumentException e) {
            log.debug("skipping unparseable stored peer id {}: {}", text, e.getMessage());
            return null;
        }
    }
}
