package io.peersocket.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code peersocket ledger}: asks a running node's ledger (started with {@code --ledger CHAIN}). */
@Command(name = "ledger", mixinStandardHelpOptions = true,
        description = {"Query or use the ledger of a running node (node --ledger CHAIN). Actions:",
                "  info                      chain, state (connector), mode, height, tip, peers, rebuilds",
                "  height                    the block height",
                "  block N                   block N: hash, prev, producer, txs",
                "  submit asset NAME [FP]    register an asset (FP: fingerprint, hex)",
                "  submit issue ASSET [OWNER]   issue a token of ASSET (to OWNER: peer id or key hex; default this node)",
                "  submit transfer TOKEN TO  transfer TOKEN to TO (peer id or Ed25519 key hex)",
                "  submit proof DIGEST       record DIGEST (64 hex chars, or text that is hashed)",
                "Transactions are signed by the node's key."})
final class LedgerCommand implements Callable<Integer> {
    @Mixin NodeOptions node;

    @Parameters(paramLabel = "ACTION", arity = "1..*", description = "info | height | block N | submit KIND ARGS…")
    List<String> args = new ArrayList<>();

    @Override public Integer call() throws Exception {
        String action = args.get(0);
        Map<String, Object> req = new LinkedHashMap<>();
        switch (action) {
            case "info" -> req.put("cmd", "ledger-info");
            case "height" -> req.put("cmd", "ledger-height");
            case "block" -> {
                need(2, "block N");
                req.put("cmd", "ledger-block");
                req.put("height", Long.parseLong(args.get(1)));
            }
            case "submit" -> {
                need(3, "submit KIND ARGS");
                req.put("cmd", "ledger-submit");
                String kind = args.get(1);
                req.put("kind", kind);
                switch (kind) {
                    case "asset" -> {
                        req.put("name", args.get(2));
                        if (args.size() > 3) req.put("fingerprint", args.get(3));
                    }
                    case "issue" -> {
                        req.put("asset", args.get(2));
                        if (args.size() > 3) req.put("owner", args.get(3));
                    }
                    case "transfer" -> {
                        need(4, "submit transfer TOKEN TO");
                        req.put("token", args.get(2));
                        req.put("to", args.get(3));
                    }
                    case "proof" -> req.put("digest", args.get(2));
                    default -> throw new IllegalArgumentException("submit kind must be asset, issue, transfer or proof");
                }
            }
            default -> throw new IllegalArgumentException("unknown ledger action " + action + " (info, height, block, submit)");
        }
        Map<String, Object> a = Remote.call(node.data, req);
        a.remove("ok");
        a.remove("cmd");
        if (node.json) {
            System.out.println(JSON.std.asString(a));
            return 0;
        }
        switch (action) {
            case "height" -> System.out.println(a.get("height"));
            case "submit" -> System.out.println(a.get("kind") + " " + a.get("txId"));
            case "block" -> {
                for (String k : List.of("height", "hash", "prev", "timestampMs", "producer", "txRoot")) System.out.printf("%-12s %s%n", k, a.get(k));
                for (Object t : (List<?>) a.get("txs")) System.out.println("tx           " + t);
            }
            default -> a.forEach((k, v) -> System.out.printf("%-15s %s%n", k, v));
        }
        return 0;
    }

    private void need(int n, String usage) {
        if (args.size() < n) throw new IllegalArgumentException("usage: peersocket ledger " + usage);
    }
}
