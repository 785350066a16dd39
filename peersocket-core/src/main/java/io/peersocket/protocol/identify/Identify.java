package io.peersocket.protocol.identify;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.peersocket.identity.HostKey;
import io.peersocket.identity.InvalidPeerIdException;
import io.peersocket.identity.PublicKey;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.multiaddr.MultiaddrException;
import io.peersocket.negotiation.Multistream;
import io.peersocket.negotiation.ProtocolHandler;
import io.peersocket.protocol.identify.pb.IdentifyProto;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.util.FrameDecoder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * libp2p identify {@code /ipfs/id/1.0.0} (libp2p specs identify/README.md): the listener writes one
 * varint-length-prefixed {@code Identify} protobuf and closes; the dialer reads it. Messages are bounded to
 * {@value #MAX_MESSAGE_BYTES} bytes, listen addresses to {@value #MAX_ADDRESSES}, protocols to
 * {@value #MAX_PROTOCOLS}. The public key must match the connection's authenticated peer.
 *
 * <p>Runs on the event loop.
 */
public final class Identify implements ProtocolHandler {
    public static final String ID = "/ipfs/id/1.0.0";
    public static final String PROTOCOL_VERSION = "ipfs/0.1.0";
    public static final int MAX_MESSAGE_BYTES = 64 * 1024;
    public static final int MAX_ADDRESSES = 64;
    public static final int MAX_PROTOCOLS = 256;

    private final HostKey hostKey;
    private final String agentVersion;
    private final Supplier<List<String>> protocols;
    private final Supplier<List<Multiaddr>> listenAddresses;

    /**
     * @param protocols the protocol ids this node serves (read at each request)
     * @param listenAddresses this node's listen addresses, without {@code /p2p/} (read at each request)
     */
    public Identify(HostKey hostKey, String agentVersion, Supplier<List<String>> protocols,
                    Supplier<List<Multiaddr>> listenAddresses) {
        this.hostKey = hostKey;
        this.agentVersion = agentVersion;
        this.protocols = protocols;
        this.listenAddresses = listenAddresses;
    }

    /** The message this node sends on {@code connection}. */
    public byte[] message(Connection connection) {
        IdentifyProto.Identify.Builder b = IdentifyProto.Identify.newBuilder()
                .setProtocolVersion(PROTOCOL_VERSION)
                .setAgentVersion(agentVersion)
                .setPublicKey(ByteString.copyFrom(hostKey.publicKey().toProto()))
                .setObservedAddr(ByteString.copyFrom(connection.remoteAddress().toBytes()));
        for (Multiaddr a : listenAddresses.get()) b.addListenAddrs(ByteString.copyFrom(a.toBytes()));
        b.addAllProtocols(protocols.get());
        return b.build().toByteArray();
    }

    @Override public StreamHandler onNegotiated(Stream stream, String protocolId) {
        stream.write(FrameDecoder.frame(message(stream.connection())));
        stream.closeWrite();
        return (s, data) -> {}; // nothing is expected from the dialer
    }

    /** Asks the remote of {@code connection} to identify itself. Fails with {@link IdentifyException}. */
    public CompletableFuture<IdentifyInfo> request(Connection connection) {
        CompletableFuture<IdentifyInfo> result = new CompletableFuture<>();
        Reader reader = new Reader(connection, result);
        Multistream.select(connection, List.of(ID), id -> reader).whenComplete((n, err) -> {
            if (err != null) result.completeExceptionally(err);
        });
        return result;
    }

    /**
     * Decodes an {@code Identify} message from the remote of {@code connection}.
     *
     * @throws IdentifyException if malformed, over a bound, or the key is not the connection's peer
     */
    public static IdentifyInfo decode(byte[] message, Connection connection) {
        IdentifyProto.Identify pb;
        try {
            pb = IdentifyProto.Identify.parseFrom(message);
        } catch (InvalidProtocolBufferException e) {
            throw new IdentifyException("malformed identify message: " + e.getMessage());
        }
        if (pb.getListenAddrsCount() > MAX_ADDRESSES) {
            throw new IdentifyException("identify lists " + pb.getListenAddrsCount() + " addresses, limit " + MAX_ADDRESSES);
        }
        if (pb.getProtocolsCount() > MAX_PROTOCOLS) {
            throw new IdentifyException("identify lists " + pb.getProtocolsCount() + " protocols, limit " + MAX_PROTOCOLS);
        }
        PublicKey key = connection.remotePublicKey();
        if (pb.hasPublicKey()) {
            try {
                key = PublicKey.fromProto(pb.getPublicKey().toByteArray());
            } catch (InvalidPeerIdException e) {
                throw new IdentifyException("identify public key: " + e.getMessage());
            }
            if (!key.peerId().equals(connection.remotePeer())) {
                throw new IdentifyException("identify public key is " + key.peerId() + ", connection is with "
                        + connection.remotePeer());
            }
        }
        List<Multiaddr> addrs = new ArrayList<>();
        int skipped = 0;
        for (ByteString a : pb.getListenAddrsList()) {
            try {
                addrs.add(Multiaddr.fromBytes(a.toByteArray()));
            } catch (MultiaddrException e) {
                skipped++;
            }
        }
        Multiaddr observed = null;
        if (pb.hasObservedAddr()) {
            try {
                observed = Multiaddr.fromBytes(pb.getObservedAddr().toByteArray());
            } catch (MultiaddrException e) {
                skipped++;
            }
        }
        return new IdentifyInfo(connection.remotePeer(), key, pb.getProtocolVersion(), pb.getAgentVersion(),
                List.copyOf(addrs), observed, List.copyOf(pb.getProtocolsList()), skipped);
    }

    private static final class Reader implements StreamHandler {
        private final Connection connection;
        private final CompletableFuture<IdentifyInfo> result;
        private final FrameDecoder decoder = new FrameDecoder(MAX_MESSAGE_BYTES);

        Reader(Connection connection, CompletableFuture<IdentifyInfo> result) {
            this.connection = connection;
            this.result = result;
        }

        @Override public void onData(Stream s, byte[] data) {
            if (result.isDone()) return;
            try {
                decoder.feed(data, msg -> {
                    result.complete(decode(msg, connection));
                    decoder.stop();
                });
            } catch (RuntimeException e) {
                result.completeExceptionally(e instanceof IdentifyException ? e : new IdentifyException(e.getMessage()));
                s.reset();
                return;
            }
            if (result.isDone()) s.close();
        }

        @Override public void onRemoteWriteClosed(Stream s) {
            if (result.completeExceptionally(new IdentifyException("identify stream ended before a message"))) s.reset();
            else s.close();
        }

        @Override public void onClosed(Stream s, Throwable cause) {
            result.completeExceptionally(new IdentifyException("identify stream closed"
                    + (cause == null ? "" : ": " + cause.getMessage())));
        }
    }
}
