/**
 * The Peersocket benchmark: {@link io.peersocket.bench.Bench} measures request/reply round trips, one-stream bulk
 * transfer and connection set-up on loopback for our stack and for the raw baselines in
 * {@link io.peersocket.bench.baseline}, and prints absolute numbers and ratios. Run it with
 * {@code peersocket-bench/run}; results go in {@code docs/benchmarks.md}. Not a unit test: it takes minutes and
 * its numbers depend on the machine.
 */
package io.peersocket.bench;
