package io.peersocket.store;

import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store's schema: the ordered list of {@link Migration}s and the code that applies them. New tables
 * (conversations, sync intervals, …) are added by appending a migration to {@link #MIGRATIONS}; a released
 * migration is never edited.
 */
final class Schema {
    private static final Logger log = LoggerFactory.getLogger(Schema.class);

    /** The schema of this version of Peersocket, oldest first. */
    static final List<Migration> MIGRATIONS = List.of(
            Migration.of(1, "peers and their multiaddrs",
                    """
                    CREATE TABLE peers (
                        peer_id          TEXT PRIMARY KEY NOT NULL,
                        public_key       BLOB,
                        first_seen       INTEGER NOT NULL,
                        last_seen        INTEGER NOT NULL,
                        last_connected   INTEGER,
                        connect_failures INTEGER NOT NULL DEFAULT 0,
                        last_failure     INTEGER,
                        agent            TEXT
                    )""",
                    "CREATE INDEX peers_recency ON peers (last_connected DESC, last_seen DESC)",
                    """
                    CREATE TABLE peer_addresses (
                        peer_id    TEXT NOT NULL REFERENCES peers (peer_id) ON DELETE CASCADE,
                        multiaddr  TEXT NOT NULL,
                        first_seen INTEGER NOT NULL,
                        last_seen  INTEGER NOT NULL,
                        source     TEXT NOT NULL,
                        PRIMARY KEY (peer_id, multiaddr)
                    )""",
                    "CREATE INDEX peer_addresses_recency ON peer_addresses (peer_id, last_seen DESC)"),
            Migration.of(2, "node settings key-value table",
                    "CREATE TABLE kv (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID"),
            // Peer exchange (protocol.peers.PeerExchange, seed 000 "Minimal system"). Multiaddr lists are text,
            // one multiaddr per line. The log's id is the kv key 'pex.log_id' (8 bytes, big-endian).
            Migration.of(3, "peer exchange: connection log, counterparty cursors, learned peers",
                    """
                    CREATE TABLE pex_log (
                        seq        INTEGER PRIMARY KEY NOT NULL,
                        peer_id    TEXT NOT NULL UNIQUE,
                        addresses  TEXT NOT NULL,
                        last_seen  INTEGER NOT NULL
                    )""",
                    """
                    CREATE TABLE pex_cursors (
                        peer_id    TEXT PRIMARY KEY NOT NULL,
                        acked      INTEGER NOT NULL,
                        updated    INTEGER NOT NULL
                    ) WITHOUT ROWID""",
                    """
                    CREATE TABLE pex_sources (
                        peer_id    TEXT PRIMARY KEY NOT NULL,
                        log_id     INTEGER NOT NULL,
                        received   INTEGER NOT NULL,
                        updated    INTEGER NOT NULL
                    ) WITHOUT ROWID""",
                    """
                    CREATE TABLE pex_known (
                        peer_id    TEXT PRIMARY KEY NOT NULL,
                        addresses  TEXT NOT NULL,
                        last_seen  INTEGER NOT NULL,
                        via        TEXT NOT NULL
                    ) WITHOUT ROWID""",
                    "CREATE INDEX pex_known_recency ON pex_known (last_seen DESC)"),
            // Chunk store (content.ChunkStore, seed 001): chunks by address, indexed by bin (proximity order to
            // the node's overlay address) and per-bin monotonic index; chunk_bins keeps each bin's last index so
            // indexes are never reused after deletes. The overlay the bins refer to is the kv key 'chunks.overlay'.
            Migration.of(4, "chunk store: chunks by address and by bin index",
                    """
                    CREATE TABLE chunks (
                        address    BLOB PRIMARY KEY NOT NULL,
                        po         INTEGER NOT NULL,
                        bin_index  INTEGER NOT NULL,
                        data       BLOB NOT NULL,
                        pinned     INTEGER NOT NULL DEFAULT 0,
                        stored_at  INTEGER NOT NULL
                    )""",
                    "CREATE UNIQUE INDEX chunks_bin ON chunks (po, bin_index)",
                    "CREATE INDEX chunks_gc ON chunks (po, bin_index) WHERE pinned = 0",
                    """
                    CREATE TABLE chunk_bins (
                        po          INTEGER PRIMARY KEY NOT NULL,
                        last_index  INTEGER NOT NULL
                    )"""),
            // Pull sync (protocol.content.IntervalStore.sqlite): per upstream peer and bin, the covered intervals of
            // the upstream's bin index as varints (start0, end0 - start0, start1 - end0, …). IF NOT EXISTS keeps it
            // harmless should another branch have created the table first.
            Migration.of(5, "pull sync intervals",
                    """
                    CREATE TABLE IF NOT EXISTS sync_intervals (
                        peer_id    TEXT NOT NULL,
                        bin        INTEGER NOT NULL,
                        ranges     BLOB NOT NULL,
                        updated    INTEGER NOT NULL,
                        PRIMARY KEY (peer_id, bin)
                    ) WITHOUT ROWID"""));

    private Schema() {}

    /** Checks that {@code migrations} are numbered 1, 2, 3, … in order. */
    static void validate(List<Migration> migrations) {
        for (int i = 0; i < migrations.size(); i++) {
            int v = migrations.get(i).version();
            if (v != i + 1) {
                throw new IllegalArgumentException(
                        "migrations must be numbered 1, 2, 3, … in order; position " + i + " has version " + v);
            }
        }
    }

    /**
     * Brings the database up to {@code migrations.size()}, one transaction per pending migration.
     *
     * @return the schema version now in the database
     * @throws StoreException if the database is newer than {@code migrations} or a migration fails (the
     *     database then stays at the last version that applied)
     */
    static int migrate(Db db, List<Migration> migrations, Path dbPath) throws SQLException {
        validate(migrations);
        int known = migrations.size();
        db.execute("CREATE TABLE IF NOT EXISTS schema_version ("
                + "version INTEGER PRIMARY KEY NOT NULL, description TEXT NOT NULL)");
        int current = currentVersion(db);
        if (current > known) {
            throw new StoreException("database " + dbPath + " has schema version " + current
                    + " but this Peersocket knows versions up to " + known
                    + "; it was written by a newer Peersocket, refusing to open it");
        }
        for (Migration m : migrations.subList(current, known)) {
            db.execute("BEGIN IMMEDIATE");
            try {
                // Re-read under the write lock: another process may have migrated meanwhile.
                if (currentVersion(db) >= m.version()) {
                    db.execute("COMMIT");
                    continue;
                }
                for (String sql : m.statements()) {
                    db.execute(sql);
                }
                db.update("INSERT INTO schema_version (version, description) VALUES (?, ?)",
                        m.version(), m.description());
                db.execute("COMMIT");
                log.info("store {}: applied schema migration {} ({})", dbPath, m.version(), m.description());
            } catch (SQLException | RuntimeException e) {
                try {
                    db.execute("ROLLBACK");
                } catch (SQLException re) {
                    e.addSuppressed(re);
                }
                throw new StoreException("schema migration " + m.version() + " (" + m.description()
                        + ") failed on " + dbPath + ": " + e.getMessage(), e);
            }
        }
        return currentVersion(db);
    }

    static int currentVersion(Db db) throws SQLException {
        try (ResultSet rs = db.prepare("SELECT coalesce(max(version), 0) FROM schema_version").executeQuery()) {
            return rs.next() ? rs.getInt(1) : 0;
        }
    }
}
