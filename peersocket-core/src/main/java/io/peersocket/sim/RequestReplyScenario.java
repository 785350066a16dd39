package io.peersocket.sim;

import io.peersocket.despatch.Despatcher;
import io.peersocket.despatch.Message;
import io.peersocket.node.Node;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A load for the simulator without any discovery protocol: every node sends despatch requests to peers picked at
 * random (from a seeded source) at random virtual times; peers answer with an echo. Measures success and the
 * virtual time of each request (the first to a peer includes the dial and the protocol negotiation). Use with a
 * simulator whose setup calls {@link #installEcho}.
 */
public final class RequestReplyScenario {
    /** Despatch message type of the request; the reply is {@code REQUEST + 1}. */
    public static final int REQUEST = 7001;

    /**
     * One request's outcome.
     *
     * @param from sender index
     * @param to receiver index
     * @param sentMs virtual send time, ms since the simulation start
     * @param latencyMs virtual time until the reply, ms (-1 if it failed)
     * @param error the failure's class and message, or null
     */
    public record Outcome(int from, int to, long sentMs, long latencyMs, String error) {
        public boolean ok() { return error == null; }
    }

    /**
     * What a run produced.
     *
     * @param outcomes every request, in (sender, send order)
     * @param stats the simulator's stats after the run
     * @param digest the simulator's trace digest after the run
     */
    public record Result(List<Outcome> outcomes, SimStats stats, long digest) {
        public long succeeded() { return outcomes.stream().filter(Outcome::ok).count(); }

        /** Latencies of successful requests, ms, ascending. */
        public long[] sortedLatenciesMs() {
            return outcomes.stream().filter(Outcome::ok).mapToLong(Outcome::latencyMs).sorted().toArray();
        }
    }

    private RequestReplyScenario() {}

    /** Registers the echo handler on {@code node} (use in {@link SimConfig#setup}). */
    public static Object installEcho(SimNode node) {
        node.node().despatcher().register(REQUEST, m -> m.reply(REQUEST + 1, m.payload()));
        return null;
    }

    /**
     * Each live node sends {@code perNode} requests, each to a random other live node at a random time within
     * {@code spreadMs} from now (introducing it first), then the simulation runs until all are answered or failed
     * (bounded by the despatch request timeout after the last send).
     *
     * @param seed picks targets and times (independent of the simulator's seed)
     */
    public static Result run(Simulator sim, int perNode, long spreadMs, long seed) {
        if (perNode < 0 || spreadMs < 1) throw new IllegalArgumentException("perNode >= 0 and spreadMs >= 1 needed");
        int n = sim.size();
        SplittableRandom random = new SplittableRandom(seed);
        List<Integer> alive = new ArrayList<>();
        for (int i = 0; i < n; i++) if (sim.simNode(i).isAlive()) alive.add(i);
        if (alive.size() < 2) throw new IllegalStateException("need at least two live nodes");
        Outcome[] outcomes = new Outcome[alive.size() * perNode];
        int[] done = {0};
        long start = sim.elapsedMs();
        int k = 0;
        for (int from : alive) {
            for (int r = 0; r < perNode; r++) {
                int to;
                do {
                    to = alive.get(random.nextInt(alive.size()));
                } while (to == from);
                long at = random.nextLong(spreadMs);
                int slot = k++;
                int target = to;
                sim.loop().schedule(() -> send(sim, from, target, slot, outcomes, done), at);
            }
        }
        long timeout = sim.config().despatch().requestTimeoutMs() + spreadMs + 60_000;
        sim.runUntil(() -> done[0] == outcomes.length, timeout);
        for (int i = 0; i < outcomes.length; i++) {
            if (outcomes[i] == null) outcomes[i] = new Outcome(-1, -1, -1, -1, "never sent or answered");
        }
        return new Result(Arrays.asList(outcomes), sim.stats(), sim.traceDigest());
    }

    private static void send(Simulator sim, int from, int to, int slot, Outcome[] outcomes, int[] done) {
        Node node = sim.node(from);
        sim.introduce(from, to);
        long sent = sim.elapsedMs();
        byte[] payload = ("req " + from + "->" + to + " #" + slot).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Despatcher d = node.despatcher();
        d.request(sim.peerId(to), REQUEST, payload).whenComplete((Message reply, Throwable err) -> {
            String error = null;
            if (err != null) {
                Throwable c = err instanceof java.util.concurrent.CompletionException && err.getCause() != null ? err.getCause() : err;
                error = c.getClass().getSimpleName() + ": " + c.getMessage();
            } else if (!Arrays.equals(reply.payload(), payload)) {
                error = "echo differs";
            }
            outcomes[slot] = new Outcome(from, to, sent, error == null ? sim.elapsedMs() - sent : -1, error);
            done[0]++;
        });
    }
}
