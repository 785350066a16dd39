package io.peersocket.transport.upgrade;

import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import java.util.concurrent.CompletableFuture;

/**
 * The Noise transport phase over a raw pipe: each write is split into messages of at most
 * {@value #MAX_PLAINTEXT} plaintext bytes (65535 minus the 16-byte tag), encrypted and length-prefixed;
 * received messages are decrypted and passed to {@link #handler}. On the event loop only.
 */
final class SecureStream implements Stream {
    static final int MAX_PLAINTEXT = NoiseFrameDecoder.MAX_MESSAGE - CipherState.TAG_LEN;
    private static final byte[] NO_AD = new byte[0];

    private final Stream raw;
    private final CipherState send;
    private final CipherState recv;
    StreamHandler handler;

    SecureStream(Stream raw, CipherState send, CipherState recv) {
        this.raw = raw;
        this.send = send;
        this.recv = recv;
    }

    /**
     * One received Noise transport message.
     *
     * @throws io.peersocket.transport.TransportException if it does not authenticate
     */
    void onMessage(byte[] ciphertext) {
        byte[] pt = recv.decrypt(NO_AD, ciphertext, 0, ciphertext.length);
        if (pt.length > 0 && handler != null) handler.onData(this, pt);
    }

    /** Encrypts {@code data} into framed Noise messages (one array). */
    byte[] seal(byte[] data) {
        int chunks = Math.max(1, (data.length + MAX_PLAINTEXT - 1) / MAX_PLAINTEXT);
        byte[] out = new byte[data.length + chunks * (2 + CipherState.TAG_LEN)];
        int off = 0;
        for (int i = 0; i < chunks; i++) {
            int from = i * MAX_PLAINTEXT;
            int len = Math.min(MAX_PLAINTEXT, data.length - from);
            off = NoiseFrameDecoder.frame(send.encrypt(NO_AD, data, from, len), out, off);
        }
        return out;
    }

    @Override public long id() { return raw.id(); }

    @Override public Connection connection() { return raw.connection(); }

    @Override public boolean isOutbound() { return raw.isOutbound(); }

    @Override public CompletableFuture<Void> write(byte[] data) { return raw.write(seal(data)); }

    @Override public boolean isWritable() { return raw.isWritable(); }

    @Override public CompletableFuture<Void> closeWrite() { return raw.closeWrite(); }

    @Override public void reset() { raw.reset(); }

    @Override public void close() { raw.close(); }

    @Override public String toString() { return "Noise(" + raw + ")"; }
}
