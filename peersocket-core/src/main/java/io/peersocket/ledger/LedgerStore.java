package io.peersocket.ledger;

import io.peersocket.store.Db;
import io.peersocket.store.Store;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The ledger's tables in the node's SQLite {@link Store}: blocks by height, their transactions, and the state
 * they produce (assets, tokens with owner and head). Each chain change — an append or a rebuild (roll back to the
 * fork point and apply the new blocks) — is ONE store unit, hence one transaction: a crash or failure part way
 * leaves the previous chain intact.
 *
 * <p>Schema: the tables are created by the ledger itself ({@code CREATE TABLE IF NOT EXISTS}, {@link #SCHEMA}), not
 * by a numbered store migration, because the store's migrations must be numbered contiguously and the ledger is an
 * app on top of the node; the ledger schema version is kept under kv key {@code ledger.schema}.
 */
public final class LedgerStore {
    /** The ledger's DDL (idempotent). */
    public static final List<String> SCHEMA = List.of(
            "CREATE TABLE IF NOT EXISTS ledger_blocks (chain TEXT NOT NULL, height INTEGER NOT NULL, hash BLOB NOT NULL, "
                    + "data BLOB NOT NULL, PRIMARY KEY (chain, height)) WITHOUT ROWID",
            "CREATE TABLE IF NOT EXISTS ledger_txs (chain TEXT NOT NULL, tx_id BLOB NOT NULL, height INTEGER NOT NULL, "
                    + "idx INTEGER NOT NULL, kind INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (chain, tx_id)) WITHOUT ROWID",
            "CREATE INDEX IF NOT EXISTS ledger_txs_height ON ledger_txs (chain, height)",
            "CREATE TABLE IF NOT EXISTS ledger_assets (chain TEXT NOT NULL, asset_id TEXT NOT NULL, registrant BLOB NOT NULL, "
                    + "name TEXT NOT NULL, height INTEGER NOT NULL, PRIMARY KEY (chain, asset_id)) WITHOUT ROWID",
            "CREATE TABLE IF NOT EXISTS ledger_tokens (chain TEXT NOT NULL, token_id TEXT NOT NULL, asset_id TEXT NOT NULL, "
                    + "owner BLOB NOT NULL, head TEXT NOT NULL, height INTEGER NOT NULL, PRIMARY KEY (chain, token_id)) WITHOUT ROWID");

    private final Store store;
    private final String chain;
    /** Tests: fail the n-th SQL statement of every chain write (−1: never). */
    volatile int failAtStatement = -1;

    private LedgerStore(Store store, String chain) {
        this.store = store;
        this.chain = chain;
    }

    /** Creates the tables if needed. */
    public static CompletableFuture<LedgerStore> open(Store store, String chain) {
        return store.write("ledger.schema", db -> {
            for (String s : SCHEMA) db.update(s);
            db.update("INSERT INTO kv (key, value) VALUES ('ledger.schema', X'01') ON CONFLICT (key) DO NOTHING");
            return null;
        }).thenApply(v -> new LedgerStore(store, chain));
    }

    /** The stored blocks in height order (encoded). */
    public CompletableFuture<List<byte[]>> loadBlocks() {
        return store.read("ledger.load", db -> {
            List<byte[]> out = new ArrayList<>();
            PreparedStatement ps = db.prepare("SELECT data FROM ledger_blocks WHERE chain = ? ORDER BY height");
            ps.setString(1, chain);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) out.add(rs.getBytes(1));
            }
            return out;
        });
    }

    /**
     * Replaces everything above {@code forkHeight} by {@code added} and writes the state rows of {@code state}
     * (the chain after the change), in one transaction. The rows to write are taken from {@code state} during this
     * call (call it on the thread that owns {@code state}); the write itself runs on the store thread.
     *
     * @param rollback true if blocks above {@code forkHeight} existed (all state rows are rewritten), false for a
     *     plain append (only rows touched by {@code added} are written)
     */
    public CompletableFuture<Void> commit(long forkHeight, List<Block> added, ChainState state, boolean rollback) {
        List<Block> blocks = List.copyOf(added);
        List<ChainState.Asset> assets = new ArrayList<>();
        List<ChainState.Token> tokens = new ArrayList<>();
        if (rollback) {
            assets.addAll(state.assets().values());
            tokens.addAll(state.tokens().values());
        } else {
            for (Block b : blocks) {
                for (Tx tx : b.txs()) {
                    String id = Bytes.hex(tx.id());
                    switch (tx.kind()) {
                        case ASSET -> assets.add(state.assets().get(id));
                        case ISSUE -> tokens.add(state.tokens().get(id));
                        case TRANSFER -> tokens.add(state.tokens().get(Bytes.hex(tx.ref())));
                        case PROOF -> { }
                    }
                }
            }
        }
        return store.write("ledger.commit", db -> {
            int[] n = {0};
            if (rollback) {
                exec(db, n, "DELETE FROM ledger_blocks WHERE chain = ? AND height > ?", chain, forkHeight);
                exec(db, n, "DELETE FROM ledger_txs WHERE chain = ? AND height > ?", chain, forkHeight);
                exec(db, n, "DELETE FROM ledger_assets WHERE chain = ?", chain);
                exec(db, n, "DELETE FROM ledger_tokens WHERE chain = ?", chain);
            }
            for (Block b : blocks) {
                exec(db, n, "INSERT INTO ledger_blocks (chain, height, hash, data) VALUES (?, ?, ?, ?)", chain, b.height(), b.hash(), b.encode());
                for (int i = 0; i < b.txs().size(); i++) {
                    Tx tx = b.txs().get(i);
                    exec(db, n, "INSERT INTO ledger_txs (chain, tx_id, height, idx, kind, data) VALUES (?, ?, ?, ?, ?, ?)",
                            chain, tx.id(), b.height(), i, tx.kind().code, tx.encode());
                }
            }
            for (ChainState.Asset a : assets) {
                exec(db, n, "INSERT OR REPLACE INTO ledger_assets (chain, asset_id, registrant, name, height) VALUES (?, ?, ?, ?, ?)",
                        chain, a.id(), a.registrant(), a.name(), a.height());
            }
            for (ChainState.Token t : tokens) {
                exec(db, n, "INSERT OR REPLACE INTO ledger_tokens (chain, token_id, asset_id, owner, head, height) VALUES (?, ?, ?, ?, ?, ?)",
                        chain, t.id(), t.asset(), t.owner(), t.head(), t.height());
            }
            return null;
        });
    }

    private void exec(Db db, int[] n, String sql, Object... params) throws SQLException {
        if (++n[0] == failAtStatement) throw new SQLException("injected failure at statement " + n[0]);
        db.update(sql, params);
    }

    /** Rows in a ledger table for this chain (tests, status). */
    public CompletableFuture<Long> count(String table) {
        if (!table.matches("ledger_(blocks|txs|assets|tokens)")) throw new IllegalArgumentException("not a ledger table: " + table);
        return store.read("ledger.count", db -> {
            PreparedStatement ps = db.prepare("SELECT count(*) FROM " + table + " WHERE chain = ?");
            ps.setString(1, chain);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : 0L;
            }
        });
    }
}
