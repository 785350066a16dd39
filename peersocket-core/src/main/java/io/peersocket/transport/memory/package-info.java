/**
 * An in-memory implementation of the transport contract ({@link io.peersocket.transport.memory.MemoryNetwork},
 * {@link io.peersocket.transport.memory.MemoryTransport}) for deterministic unit tests and the simulator:
 * addresses {@code /memory/<n>}, real peer identities, seeded datagram loss and per-link latency on the event
 * loops' clocks. Never used as a stand-in for QUIC in integration tests.
 */
package io.peersocket.transport.memory;
