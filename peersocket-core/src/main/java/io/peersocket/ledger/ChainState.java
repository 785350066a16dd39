package io.peersocket.ledger;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One chain and the state it produces: blocks by height, registered assets, tokens and their owners, tx ids
 * seen. {@link #verify} checks a block against this state without changing it; {@link #append} verifies and
 * applies. Not thread-safe: the ledger keeps it on the node's event loop; {@link #copy} makes a scratch state.
 */
public final class ChainState {
    /** A registered asset. */
    public record Asset(String id, byte[] registrant, String name, long height) {}

    /** A token: its asset, current owner and head tx (issue or last transfer). */
    public record Token(String id, String asset, byte[] owner, String head, long height) {}

    private final String chain;
    private final byte[] genesis;
    private final List<Block> blocks;
    private final List<byte[]> hashes;
    private final Map<String, Asset> assets;
    private final Map<String, Token> tokens;
    private final Set<String> txIds;

    /** An empty chain (height 0). */
    public ChainState(String chain) {
        LedgerConfig.checkChain(chain);
        this.chain = chain;
        this.genesis = Block.genesisHash(chain);
        this.blocks = new ArrayList<>();
        this.hashes = new ArrayList<>();
        this.assets = new HashMap<>();
        this.tokens = new HashMap<>();
        this.txIds = new HashSet<>();
    }

    private ChainState(ChainState o) {
        this.chain = o.chain;
        this.genesis = o.genesis;
        this.blocks = new ArrayList<>(o.blocks);
        this.hashes = new ArrayList<>(o.hashes);
        this.assets = new HashMap<>(o.assets);
        this.tokens = new HashMap<>(o.tokens);
        this.txIds = new HashSet<>(o.txIds);
    }

    public String chain() { return chain; }

    public long height() { return blocks.size(); }

    /** Hash of the block at {@code height} (0: genesis). @throws IndexOutOfBoundsException if above the tip */
    public byte[] hashAt(long height) {
        if (height == 0) return genesis.clone();
        return hashes.get(Math.toIntExact(height - 1)).clone();
    }

    public byte[] tipHash() { return hashAt(height()); }

    /** The block at {@code height} (≥ 1), or null if there is none. */
    public Block blockAt(long height) {
        return height >= 1 && height <= blocks.size() ? blocks.get((int) (height - 1)) : null;
    }

    public long tipTimestamp() { return blocks.isEmpty() ? 0 : blocks.get(blocks.size() - 1).timestampMs(); }

    public Map<String, Asset> assets() { return java.util.Collections.unmodifiableMap(assets); }

    public Map<String, Token> tokens() { return java.util.Collections.unmodifiableMap(tokens); }

    public boolean hasTx(byte[] id) { return txIds.contains(Bytes.hex(id)); }

    public ChainState copy() { return new ChainState(this); }

    /**
     * A state with only blocks 1..{@code height}, rebuilt by replaying them (they were verified when appended, so
     * signatures are not checked again).
     */
    public ChainState truncated(long height) {
        if (height >= height()) return copy();
        ChainState s = new ChainState(chain);
        for (int h = 0; h < height; h++) s.applyUnchecked(blocks.get(h), hashes.get(h));
        return s;
    }

    /**
     * Checks that {@code b} may follow this chain's tip: chain, height, prev hash, timestamp (not before the tip's,
     * not more than {@code maxSkewMs} after {@code nowMs}), producer signature, tx root, and every tx in order
     * (signature, no replay, asset exists, issuer is the registrant, transfer signed by the owner of the token's
     * current head — a second spend of the same head fails).
     *
     * @throws MalformedLedgerException naming the first problem
     */
    public void verify(Block b, long nowMs, long maxSkewMs) throws MalformedLedgerException {
        stage(b, nowMs, maxSkewMs);
    }

    /** {@link #verify} then apply. */
    public void append(Block b, long nowMs, long maxSkewMs) throws MalformedLedgerException {
        Staged s = stage(b, nowMs, maxSkewMs);
        blocks.add(b);
        hashes.add(s.hash);
        assets.putAll(s.assets);
        tokens.putAll(s.tokens);
        txIds.addAll(s.ids);
    }

    /**
     * Checks {@code tx} against this state plus nothing else (for the pending pool).
     *
     * @throws MalformedLedgerException naming the problem
     */
    public void verifyTx(Tx tx) throws MalformedLedgerException {
        checkTx(tx, new HashMap<>(), new HashMap<>(), new HashSet<>(), height() + 1);
    }

    /**
     * The txs of {@code candidates} (in order, at most {@code max}) that can go in the next block together: each
     * checked against this state plus the ones kept before it. Invalid ones (spent, replayed, unknown asset) are left out.
     */
    public List<Tx> validSubset(java.util.Collection<Tx> candidates, int max) {
        Map<String, Asset> a = new HashMap<>();
        Map<String, Token> t = new HashMap<>();
        Set<String> ids = new HashSet<>();
        List<Tx> out = new ArrayList<>();
        for (Tx tx : candidates) {
            if (out.size() >= max) break;
            Map<String, Asset> a2 = new HashMap<>(a);
            Map<String, Token> t2 = new HashMap<>(t);
            try {
                checkTx(tx, a2, t2, ids, height() + 1);
                a = a2;
                t = t2;
                out.add(tx);
            } catch (MalformedLedgerException e) {
                // left out
            }
        }
        return out;
    }

    private record Staged(byte[] hash, Map<String, Asset> assets, Map<String, Token> tokens, Set<String> ids) {}

    private Staged stage(Block b, long nowMs, long maxSkewMs) throws MalformedLedgerException {
        if (!b.chain().equals(chain)) throw new MalformedLedgerException("block of chain " + b.chain() + ", not " + chain);
        if (b.height() != height() + 1) throw new MalformedLedgerException("wrong height " + b.height() + ", expected " + (height() + 1));
        if (!Arrays.equals(b.prev(), tipHash())) throw new MalformedLedgerException("wrong prev hash at height " + b.height());
        if (b.timestampMs() < tipTimestamp()) throw new MalformedLedgerException("timestamp before the previous block's");
        if (b.timestampMs() > nowMs + maxSkewMs) throw new MalformedLedgerException("timestamp " + (b.timestampMs() - nowMs) + " ms in the future");
        if (!Arrays.equals(b.txRoot(), Block.txRoot(b.txs()))) throw new MalformedLedgerException("wrong tx root at height " + b.height());
        if (!b.signatureValid()) throw new MalformedLedgerException("bad producer signature at height " + b.height());
        Map<String, Asset> a = new HashMap<>();
        Map<String, Token> t = new HashMap<>();
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < b.txs().size(); i++) {
            try {
                checkTx(b.txs().get(i), a, t, ids, b.height());
            } catch (MalformedLedgerException e) {
                throw new MalformedLedgerException("block " + b.height() + " tx " + i + ": " + e.getMessage());
            }
        }
        return new Staged(b.hash(), a, t, ids);
    }

    private void checkTx(Tx tx, Map<String, Asset> a, Map<String, Token> t, Set<String> ids, long height)
            throws MalformedLedgerException {
        checkTx(tx, a, t, ids, height, true);
    }

    /** {@code signatures} false only when replaying blocks that were verified when first appended. */
    private void checkTx(Tx tx, Map<String, Asset> a, Map<String, Token> t, Set<String> ids, long height, boolean signatures)
            throws MalformedLedgerException {
        String id = Bytes.hex(tx.id());
        if (txIds.contains(id) || ids.contains(id)) throw new MalformedLedgerException("tx " + id.substring(0, 12) + " already in the chain");
        if (signatures && !tx.signatureValid(chain)) throw new MalformedLedgerException("bad tx signature");
        switch (tx.kind()) {
            case ASSET -> a.put(id, new Asset(id, tx.signer(), tx.name(), height));
            case ISSUE -> {
                String assetId = Bytes.hex(tx.ref());
                Asset asset = a.containsKey(assetId) ? a.get(assetId) : assets.get(assetId);
                if (asset == null) throw new MalformedLedgerException("issue of unknown asset " + assetId.substring(0, 12));
                if (!Arrays.equals(asset.registrant(), tx.signer())) throw new MalformedLedgerException("issue not signed by the asset's registrant");
                t.put(id, new Token(id, assetId, tx.owner(), id, height));
            }
            case TRANSFER -> {
                String tokenId = Bytes.hex(tx.ref());
                Token token = t.containsKey(tokenId) ? t.get(tokenId) : tokens.get(tokenId);
                if (token == null) throw new MalformedLedgerException("transfer of unknown token " + tokenId.substring(0, 12));
                if (!token.head().equals(Bytes.hex(tx.prev()))) throw new MalformedLedgerException("double spend: token " + tokenId.substring(0, 12) + " head is not prev");
                if (!Arrays.equals(token.owner(), tx.signer())) throw new MalformedLedgerException("transfer not signed by the token's owner");
                t.put(tokenId, new Token(tokenId, token.asset(), tx.owner(), id, height));
            }
            case PROOF -> { }
        }
        ids.add(id);
    }

    private void applyUnchecked(Block b, byte[] hash) {
        try {
            Staged s = stageTxsOnly(b);
            blocks.add(b);
            hashes.add(hash);
            assets.putAll(s.assets);
            tokens.putAll(s.tokens);
            txIds.addAll(s.ids);
        } catch (MalformedLedgerException e) {
            throw new IllegalStateException("replay of a verified block failed: " + e.getMessage(), e);
        }
    }

    private Staged stageTxsOnly(Block b) throws MalformedLedgerException {
        Map<String, Asset> a = new HashMap<>();
        Map<String, Token> t = new HashMap<>();
        Set<String> ids = new HashSet<>();
        for (Tx tx : b.txs()) checkTx(tx, a, t, ids, b.height(), false);
        return new Staged(null, a, t, ids);
    }

    /**
     * Fork choice (docs/ledger.md): the chain with the greater height wins; at equal height the one whose tip hash
     * is lower (unsigned lexicographic) wins. Returns {@code > 0} if (h1, tip1) is better than (h2, tip2).
     */
    public static int compare(long h1, byte[] tip1, long h2, byte[] tip2) {
        if (h1 != h2) return Long.compare(h1, h2);
        return -Arrays.compareUnsigned(tip1, tip2);
    }
}
