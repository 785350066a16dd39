package io.peersocket.cli;

import io.peersocket.identity.PeerId;
import io.peersocket.ledger.Block;
import io.peersocket.ledger.ChainState;
import io.peersocket.ledger.Ledger;
import io.peersocket.ledger.LedgerConfig;
import io.peersocket.ledger.Tx;
import io.peersocket.node.Node;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Control commands of the ledger app (docs/ledger.md), answered by {@link ControlHandler} when the node runs with
 * {@code --ledger CHAIN}:
 * <ul>
 *   <li>{@code ledger-info}: chain, state, mode, height, tip, peers, rebuilds, rejected input counts;</li>
 *   <li>{@code ledger-height}; {@code ledger-block {height}}: header fields and txs;</li>
 *   <li>{@code ledger-submit {kind, name?, fingerprint?, asset?, owner?, token?, to?, digest?}}: a tx signed by this
 *       node's key ({@code asset NAME}, {@code issue ASSET [OWNER]}, {@code transfer TOKEN TO}, {@code proof DIGEST});</li>
 *   <li>{@code ledger-produce {ms}}: produce a block every {@code ms} (0 stops);</li>
 *   <li>{@code ledger-rebuilds}: the rebuilds done (network cuts for the testbed: the {@code firewall} op).</li>
 * </ul>
 */
final class LedgerControl {
    private static final long TIMEOUT_S = 30;
    private static final Map<Node, Ledger> LEDGERS = new ConcurrentHashMap<>();

    private LedgerControl() {}

    static Ledger install(Node node, LedgerConfig config) throws Exception {
        Ledger l = Ledger.install(node, config);
        LEDGERS.put(node, l);
        return l;
    }

    static void handle(Node node, String cmd, Map<String, Object> r, Map<String, Object> out) throws Exception {
        Ledger l = LEDGERS.get(node);
        if (l == null) throw new IllegalStateException("the ledger is not enabled on this node (start it with --ledger CHAIN)");
        switch (cmd) {
            case "ledger-info" -> out.putAll(l.status().get(TIMEOUT_S, TimeUnit.SECONDS));
            case "ledger-height" -> out.put("height", l.height().get(TIMEOUT_S, TimeUnit.SECONDS));
            case "ledger-block" -> {
                long h = num(r, "height", -1);
                Block b = l.block(h).get(TIMEOUT_S, TimeUnit.SECONDS);
                if (b == null) throw new IllegalArgumentException("no block at height " + h);
                out.putAll(describe(b));
            }
            case "ledger-submit" -> {
                Tx tx = tx(l, r);
                byte[] id = l.submit(tx).get(TIMEOUT_S, TimeUnit.SECONDS);
                out.put("txId", hex(id));
                out.put("kind", tx.kind().name().toLowerCase());
            }
            case "ledger-produce" -> l.produceEvery(num(r, "ms", 0)).get(TIMEOUT_S, TimeUnit.SECONDS);
            case "ledger-rebuilds" -> {
                List<Map<String, Object>> rs = new ArrayList<>();
                for (Ledger.Rebuild b : l.rebuilds().get(TIMEOUT_S, TimeUnit.SECONDS)) {
                    rs.add(Map.of("atMs", b.atMs(), "forkHeight", b.forkHeight(), "oldHeight", b.oldHeight(),
                            "newHeight", b.newHeight(), "depth", b.depth(), "peer", b.peer()));
                }
                out.put("rebuilds", rs);
            }
            default -> throw new IllegalArgumentException("unknown command \"" + cmd + "\"");
        }
    }

    private static Tx tx(Ledger l, Map<String, Object> r) throws Exception {
        String chain = l.config().chain();
        long nonce = System.nanoTime();
        String kind = String.valueOf(r.get("kind"));
        switch (kind) {
            case "asset" -> {
                Object fp = r.get("fingerprint");
                return Tx.asset(chain, l.key(), str(r, "name"), fp == null ? new byte[0] : unhex(String.valueOf(fp), -1, "fingerprint"), nonce);
            }
            case "issue" -> {
                Object owner = r.get("owner");
                byte[] o = owner == null ? l.key().publicKey().raw() : key(String.valueOf(owner));
                return Tx.issue(chain, l.key(), unhex(str(r, "asset"), 32, "asset id"), o, nonce);
            }
            case "transfer" -> {
                byte[] token = unhex(str(r, "token"), 32, "token id");
                ChainState s = l.chainCopy().get(TIMEOUT_S, TimeUnit.SECONDS);
                ChainState.Token t = s.tokens().get(hex(token));
                if (t == null) throw new IllegalArgumentException("unknown token " + hex(token));
                return Tx.transfer(chain, l.key(), token, unhex(t.head(), 32, "head"), key(str(r, "to")));
            }
            case "proof" -> {
                String d = str(r, "digest");
                byte[] digest = d.matches("[0-9a-fA-F]{64}") ? unhex(d, 32, "digest")
                        : MessageDigest.getInstance("SHA-256").digest(d.getBytes(StandardCharsets.UTF_8));
                return Tx.proof(chain, l.key(), digest, nonce);
            }
            default -> throw new IllegalArgumentException("kind must be asset, issue, transfer or proof, not " + kind);
        }
    }

    /** An owner key: 64 hex characters (Ed25519 public key) or a peer id with an inlined Ed25519 key. */
    private static byte[] key(String s) {
        if (s.matches("[0-9a-fA-F]{64}")) return unhex(s, 32, "public key");
        PeerId p = PeerId.parse(s);
        if (p.publicKey() == null) throw new IllegalArgumentException("peer id " + s + " does not carry its public key");
        return p.publicKey().raw();
    }

    static Map<String, Object> describe(Block b) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("height", b.height());
        m.put("hash", hex(b.hash()));
        m.put("prev", hex(b.prev()));
        m.put("timestampMs", b.timestampMs());
        m.put("producer", hex(b.producer()));
        m.put("txRoot", hex(b.txRoot()));
        List<Map<String, Object>> txs = new ArrayList<>();
        for (Tx t : b.txs()) {
            Map<String, Object> tm = new LinkedHashMap<>();
            tm.put("id", hex(t.id()));
            tm.put("kind", t.kind().name().toLowerCase());
            tm.put("signer", hex(t.signer()));
            switch (t.kind()) {
                case ASSET -> tm.put("name", t.name());
                case ISSUE -> {
                    tm.put("asset", hex(t.ref()));
                    tm.put("owner", hex(t.owner()));
                }
                case TRANSFER -> {
                    tm.put("token", hex(t.ref()));
                    tm.put("to", hex(t.owner()));
                }
                case PROOF -> tm.put("digest", hex(t.ref()));
            }
            txs.add(tm);
        }
        m.put("txs", txs);
        return m;
    }

    private static String hex(byte[] b) { return HexFormat.of().formatHex(b); }

    private static byte[] unhex(String s, int len, String what) {
        byte[] b;
        try {
            b = HexFormat.of().parseHex(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + " is not hex: " + s);
        }
        if (len >= 0 && b.length != len) throw new IllegalArgumentException(what + " must be " + len + " bytes");
        return b;
    }

    private static String str(Map<String, Object> r, String key) { return ControlArgs.str(r, key); }

    /** {@code dflt < 0}: the argument is required. */
    private static long num(Map<String, Object> r, String key, long dflt) {
        return dflt < 0 ? ControlArgs.requiredNum(r, key) : ControlArgs.num(r, key, dflt);
    }
}
