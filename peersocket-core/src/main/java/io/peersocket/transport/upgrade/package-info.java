/**
 * Connection upgrade over raw byte pipes (libp2p connections spec): Noise security and Yamux multiplexing, as
 * used for relayed (Circuit Relay v2) connections. No Netty here.
 *
 * <p>{@link io.peersocket.transport.upgrade.NoiseYamuxUpgrader} implements
 * {@link io.peersocket.transport.upgrade.Upgrader}: multistream {@code /noise}, the Noise XX handshake with the
 * libp2p identity payload, multistream {@code /yamux/1.0.0}, then a
 * {@link io.peersocket.transport.upgrade.YamuxConnection}. Limits are in
 * {@link io.peersocket.transport.upgrade.UpgraderConfig}. Byte-compatible with js-libp2p
 * ({@code JsNoiseYamuxInteropTest}); wire details in {@code docs/wire.md}.
 */
package io.peersocket.transport.upgrade;
