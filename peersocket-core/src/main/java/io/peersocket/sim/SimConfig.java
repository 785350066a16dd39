package io.peersocket.sim;

import io.peersocket.despatch.DespatchConfig;
import io.peersocket.node.NodeBuilder;
import io.peersocket.transport.TransportConfig;
import io.peersocket.transport.memory.LinkModel;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * What a {@link Simulator} builds. Start from {@link #of(int, long)} and adjust with the {@code with…} methods.
 *
 * @param nodes how many nodes (≥ 1); node {@code i} listens on {@code /memory/<i+1>} and has the key
 *     {@code HostKey.fromSeed(SHA-256(seed as 8 bytes big-endian ‖ i as 4 bytes big-endian))}
 * @param seed seeds identities, the default link model and the network's datagram loss
 * @param linkModel latency, loss and reachability of links (the simulator adds crashes and partitions on top);
 *     default {@code new SeededLinkModel(seed, 10, 40)}: one-way 10–50 ms per pair, no loss
 * @param startMs the virtual clock at the start, ms (default 1 700 000 000 000, an epoch time in 2023)
 * @param despatch despatch settings of every node (handlers are always run on the simulation loop)
 * @param transportSettings adjusts every node's transport settings (limits, timeouts); default: connection limit
 *     raised to 4096 so one bootstrap node can take every other node's first connection
 * @param nodeOptions further node settings applied to every node's {@link NodeBuilder} (e.g.
 *     {@code b -> b.kademlia(KadConfig.defaults())}); the simulator then sets the event loop, transport, listen
 *     address, identity and despatch settings itself, so options must not set those or a data dir
 * @param setup run for each node after it starts (and again after each {@link Simulator#restart}): attaches
 *     protocols and returns the node's application object ({@link SimNode#app}), or null. If the object is
 *     {@link AutoCloseable} it is closed when the node crashes or the simulation closes.
 */
public record SimConfig(int nodes, long seed, LinkModel linkModel, long startMs, DespatchConfig despatch,
                        UnaryOperator<TransportConfig> transportSettings, UnaryOperator<NodeBuilder> nodeOptions,
                        Function<SimNode, Object> setup) {
    /** Default virtual start time, ms. */
    public static final long DEFAULT_START_MS = 1_700_000_000_000L;
    /** Default per-node connection limit in simulation. */
    public static final int DEFAULT_MAX_CONNECTIONS = 4096;

    public SimConfig {
        if (nodes < 1) throw new IllegalArgumentException("nodes must be >= 1, got " + nodes);
        if (nodes > 1_000_000) throw new IllegalArgumentException("nodes must be <= 1000000, got " + nodes);
        Objects.requireNonNull(linkModel, "linkModel");
        Objects.requireNonNull(despatch, "despatch");
        Objects.requireNonNull(transportSettings, "transportSettings");
        Objects.requireNonNull(nodeOptions, "nodeOptions");
        Objects.requireNonNull(setup, "setup");
    }

    /** {@code nodes} plain nodes (ping, identify, despatch) with the defaults above. */
    public static SimConfig of(int nodes, long seed) {
        return new SimConfig(nodes, seed, new SeededLinkModel(seed, 10, 40), DEFAULT_START_MS, DespatchConfig.defaults(),
                c -> c.withMaxConnections(DEFAULT_MAX_CONNECTIONS), UnaryOperator.identity(), n -> null);
    }

    public SimConfig withNodes(int n) {
        return new SimConfig(n, seed, linkModel, startMs, despatch, transportSettings, nodeOptions, setup);
    }

    public SimConfig withLinkModel(LinkModel model) {
        return new SimConfig(nodes, seed, model, startMs, despatch, transportSettings, nodeOptions, setup);
    }

    public SimConfig withStartMs(long ms) {
        return new SimConfig(nodes, seed, linkModel, ms, despatch, transportSettings, nodeOptions, setup);
    }

    public SimConfig withDespatch(DespatchConfig config) {
        return new SimConfig(nodes, seed, linkModel, startMs, config, transportSettings, nodeOptions, setup);
    }

    public SimConfig withTransportSettings(UnaryOperator<TransportConfig> settings) {
        return new SimConfig(nodes, seed, linkModel, startMs, despatch, settings, nodeOptions, setup);
    }

    public SimConfig withSetup(Function<SimNode, Object> nodeSetup) {
        return new SimConfig(nodes, seed, linkModel, startMs, despatch, transportSettings, nodeOptions, nodeSetup);
    }

    public SimConfig withNodeOptions(UnaryOperator<NodeBuilder> options) {
        return new SimConfig(nodes, seed, linkModel, startMs, despatch, transportSettings, options, setup);
    }
}
