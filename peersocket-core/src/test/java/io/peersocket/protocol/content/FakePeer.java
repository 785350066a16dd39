package io.peersocket.protocol.content;

import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.node.Node;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.util.FrameDecoder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A node that speaks the content protocols by hand (no {@link Content}): it registers the protocol ids and hands
 * each decoded message to a script, which answers with {@link #send} or misbehaves (never answers, lies, sends
 * junk). For bad-input tests.
 */
final class FakePeer implements AutoCloseable {
    interface Script {
        void on(FakePeer self, String protocol, PeerId from, ContentCodec.Msg m);
    }

    final Node node;
    final HostKey key;
    private final Map<String, Stream> outs = new HashMap<>();
    Script script;

    FakePeer(ContentNet net, int index, Script script) {
        this.script = script;
        byte[] seed = new byte[32];
        java.nio.ByteBuffer.wrap(seed).putInt(1000 + index).putInt(0xbad);
        this.key = HostKey.fromSeed(seed);
        try {
            node = Node.builder().eventLoop(net.loop).transport(net.network::transport).listen("/memory/" + (index + 1))
                    .hostKey(key).redialOnStart(0).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (String id : List.of(Content.RETRIEVAL_ID, Content.PUSHSYNC_ID, Content.SYNC_ID)) {
            node.registerProtocol(id, (s, pid) -> new StreamHandler() {
                final FrameDecoder dec = new FrameDecoder(1 << 20);

                @Override public void onData(Stream st, byte[] data) {
                    dec.feed(data, f -> FakePeer.this.script.on(FakePeer.this, id, st.connection().remotePeer(), ContentCodec.decode(f)));
                }
            });
        }
        net.loop.runPending();
    }

    PeerId id() { return key.peerId(); }

    /** Writes {@code m} to {@code to} on our own stream of {@code protocol}. */
    void send(String protocol, PeerId to, ContentCodec.Msg m) { sendRaw(protocol, to, FrameDecoder.frame(ContentCodec.encode(m))); }

    void sendRaw(String protocol, PeerId to, byte[] bytes) {
        String k = protocol + to;
        Stream s = outs.get(k);
        if (s != null) {
            s.write(bytes);
            return;
        }
        node.openStream(to, protocol, (st, d) -> {}).thenAccept(st -> {
            outs.put(k, st);
            st.write(bytes);
        });
    }

    @Override public void close() { node.close(); }
}
