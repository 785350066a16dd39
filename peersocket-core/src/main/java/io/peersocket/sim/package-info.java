/**
 * The simulator: many real nodes in one JVM over the in-memory transport, in virtual time, deterministic for a
 * given seed ({@link io.peersocket.sim.Simulator}, {@link io.peersocket.sim.SimLoop},
 * {@link io.peersocket.sim.SeededLinkModel}); crash/restart and partitions; the discovery benchmark
 * ({@link io.peersocket.sim.DiscoveryBench} over {@link io.peersocket.sim.KadDiscovery}). A top layer like
 * {@code io.peersocket.node}: it may use every package below; nothing below uses it.
 */
package io.peersocket.sim;
