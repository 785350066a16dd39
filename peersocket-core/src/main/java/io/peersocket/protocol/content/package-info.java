/**
 * The network protocols for content (seed 001 "Swarm stream protocol", seed 000 "Minimal system"): retrieval,
 * push sync with signed receipts, and pull sync with persisted intervals, over one {@link
 * io.peersocket.protocol.content.BandwidthScheduler} per node. Entry point: {@link
 * io.peersocket.protocol.content.Content} (or {@code NodeBuilder.content}). Wire: docs/wire.md "Content protocols".
 * One package because the three protocols share the scheduler, the peer set, the in-flight set (each chunk is
 * transferred once) and the reputation; protocols outside it see only {@code Content}.
 */
package io.peersocket.protocol.content;
