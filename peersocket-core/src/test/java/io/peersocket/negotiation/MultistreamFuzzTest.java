package io.peersocket.negotiation;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Jazzer target for the multistream-select listener: arbitrary bytes, split into chunks, are fed to
 * {@link Multistream#listener} over a fake {@link Stream}. Nothing may escape {@code onData}; the outcome must
 * match an independent model of the protocol: bad input resets the stream (and reports one failure), a
 * supported proposal hands every later byte to the protocol handler, and an incomplete exchange leaves the
 * stream alone (until the remote finishes writing, which resets it).
 *
 * <p>Input layout: byte 0 sets the chunk size ({@code (b & 0x1F) + 1}); the rest is what the remote sends.
 */
class MultistreamFuzzTest {
    static final String SUPPORTED = "/test/1.0.0";
    static final String OTHER = "/other/2.0.0";

    /** A stream that records what the listener does to it. */
    static final class FakeStream implements Stream {
        final ByteArrayOutputStream written = new ByteArrayOutputStream();
        int resets;
        boolean writeAfterReset;

        @Override public long id() { return 0; }

        @Override public Connection connection() { throw new UnsupportedOperationException("not in this test"); }

        @Override public boolean isOutbound() { return false; }

        @Override public CompletableFuture<Void> write(byte[] data) {
            if (resets > 0) writeAfterReset = true;
            written.writeBytes(data);
            return CompletableFuture.completedFuture(null);
        }

        @Override public boolean isWritable() { return true; }

        @Override public CompletableFuture<Void> closeWrite() { return CompletableFuture.completedFuture(null); }

        @Override public void reset() { resets++; }

        @Override public void close() {}
    }

    enum Outcome { PENDING, NEGOTIATED, FAILED }

    record Expected(Outcome outcome, String protocol, byte[] rest) {}

    /** Reference model of the listener, written from the spec rather than from the implementation. */
    static Expected model(byte[] in) {
        int pos = 0;
        boolean headerSeen = false;
        int proposals = 0;
        while (true) {
            long len = 0;
            int p = pos;
            boolean complete = false;
            for (int i = 0; i < 9; i++) {
                if (p >= in.length) return new Expected(Outcome.PENDING, null, null);
                int b = in[p++] & 0xFF;
                len |= (long) (b & 0x7F) << (7 * i);
                if ((b & 0x80) == 0) {
                    if (b == 0 && i > 0) return failed(); // not minimally encoded
                    complete = true;
                    break;
                }
            }
            if (!complete || len > Multistream.MAX_MESSAGE_BYTES) return failed();
            if (in.length - p < len) return new Expected(Outcome.PENDING, null, null);
            byte[] msg = Arrays.copyOfRange(in, p, p + (int) len);
            pos = p + (int) len;
            String text = strictText(msg);
            if (text == null) return failed();
            if (!headerSeen) {
                if (!text.equals(Multistream.HEADER)) return failed();
                headerSeen = true;
            } else if (!text.equals(Multistream.LS)) {
                if (++proposals > Multistream.MAX_PROPOSALS) return failed();
                if (text.equals(SUPPORTED) || text.equals(OTHER)) {
                    return new Expected(Outcome.NEGOTIATED, text, Arrays.copyOfRange(in, pos, in.length));
                }
            }
        }
    }

    static Expected failed() { return new Expected(Outcome.FAILED, null, null); }

    /** UTF-8 text ending in one newline, without other newlines or U+FFFD; null otherwise. */
    static String strictText(byte[] msg) {
        if (msg.length == 0 || msg[msg.length - 1] != '\n') return null;
        String s;
        try {
            s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(msg, 0, msg.length - 1)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
        return s.indexOf('\n') >= 0 || s.indexOf('\uFFFD') >= 0 ? null : s;
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    @Test
    void modelCoversEachOutcome() {
        byte[] header = Multistream.encode(Multistream.HEADER);
        Expected ok = model(concat(header, Multistream.encode("/x"), Multistream.encode(OTHER), new byte[] {1, 2}));
        assertThat(ok.outcome()).isEqualTo(Outcome.NEGOTIATED);
        assertThat(ok.protocol()).isEqualTo(OTHER);
        assertThat(ok.rest()).containsExactly(1, 2);
        assertThat(model(concat(header, new byte[] {5, '/'})).outcome()).isEqualTo(Outcome.PENDING);
        assertThat(model(Multistream.encode("/multistream/2.0.0")).outcome()).isEqualTo(Outcome.FAILED);
        assertThat(model(concat(header, new byte[] {(byte) 0x81, 0x08})).outcome()).isEqualTo(Outcome.FAILED); // 1025
        // the fuzz target itself, on inputs whose outcome is known
        listener(concat(new byte[] {0}, header, Multistream.encode(SUPPORTED), new byte[] {9}));
        listener(concat(new byte[] {3}, header, new byte[] {0x03, 'a', 'b', 'c'}));
    }

    @FuzzTest
    void listener(byte[] input) {
        int chunk = input.length == 0 ? 1 : (input[0] & 0x1F) + 1;
        byte[] remote = input.length == 0 ? input : Arrays.copyOfRange(input, 1, input.length);

        FakeStream stream = new FakeStream();
        ByteArrayOutputStream delegated = new ByteArrayOutputStream();
        List<String> negotiated = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        ProtocolHandler handler = (s, id) -> {
            negotiated.add(id);
            return (s2, data) -> delegated.writeBytes(data);
        };
        Map<String, ProtocolHandler> supported = new LinkedHashMap<>();
        supported.put(SUPPORTED, handler);
        supported.put(OTHER, handler);
        StreamHandler listener = Multistream.listener(stream, supported, failures::add);
        assertThat(stream.written.toByteArray()).isEqualTo(Multistream.encode(Multistream.HEADER));

        for (int off = 0; off < remote.length; off += chunk) {
            listener.onData(stream, Arrays.copyOfRange(remote, off, Math.min(remote.length, off + chunk)));
        }

        Expected want = model(remote);
        switch (want.outcome()) {
            case FAILED -> {
                assertThat(stream.resets).as("resets").isEqualTo(1);
                assertThat(failures).hasSize(1);
                assertThat(failures.get(0)).isNotBlank();
                assertThat(negotiated).isEmpty();
                assertThat(stream.writeAfterReset).isFalse();
            }
            case NEGOTIATED -> {
                assertThat(stream.resets).isZero();
                assertThat(failures).isEmpty();
                assertThat(negotiated).containsExactly(want.protocol());
                assertThat(delegated.toByteArray()).isEqualTo(want.rest());
                byte[] out = stream.written.toByteArray();
                byte[] echo = Multistream.encode(want.protocol());
                assertThat(Arrays.copyOfRange(out, Math.max(0, out.length - echo.length), out.length)).isEqualTo(echo);
            }
            case PENDING -> {
                assertThat(stream.resets).isZero();
                assertThat(failures).isEmpty();
                assertThat(negotiated).isEmpty();
                listener.onRemoteWriteClosed(stream); // the remote gave up mid-negotiation
                assertThat(stream.resets).isEqualTo(1);
            }
        }
    }
}
