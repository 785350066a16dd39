package io.peersocket.despatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HeaderTest {

    static final byte[] TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".getBytes(StandardCharsets.US_ASCII);

    /** A header with every field its flags call for. */
    static Header withFlags(int flags) {
        return new Header(flags, 300, 1L << 40,
                (flags & Header.F_IN_REPLY_TO) != 0 ? 7 : 0,
                (flags & Header.F_IN_REGARDS_TO) != 0 ? Long.MAX_VALUE : 0,
                (flags & Header.F_TRACE) != 0 ? TRACE : null);
    }

    static boolean openWithReference(int flags) {
        return (flags & Header.F_CONVERSATION_OPEN) != 0
                && (flags & (Header.F_IN_REPLY_TO | Header.F_IN_REGARDS_TO)) != 0;
    }

    @Test
    void everyFlagCombinationRoundTrips() {
        byte[] payload = "payload".getBytes(StandardCharsets.UTF_8);
        int valid = 0;
        for (int flags = 0; flags < 256; flags++) {
            if (openWithReference(flags)) {
                int f = flags;
                assertThatThrownBy(() -> withFlags(f)).isInstanceOf(IllegalArgumentException.class);
                continue;
            }
            Header h = withFlags(flags);
            byte[] frame = h.encode(payload);
            assertThat(frame.length - payload.length).isLessThanOrEqualTo(Header.MAX_BYTES);
            Header.Frame f = Header.decode(frame);
            assertThat(f.header()).as("flags 0x%02x", flags).isEqualTo(h);
            assertThat(f.payload()).isEqualTo(payload);
            assertThat(f.header().encode(f.payload())).isEqualTo(frame);
            valid++;
        }
        assertThat(valid).isEqualTo(256 - 96); // OPEN with REPLY and/or REGARDS: 3 of every 4 of the 128 OPEN combos
    }

    @Test
    void minimalAndLargestHeaders() {
        Header min = new Header(0, 0, 1, 0, 0, null);
        assertThat(min.encode(new byte[0])).containsExactly(1, 0, 0, 1);
        assertThat(Header.decode(new byte[] {1, 0, 0, 1}).header()).isEqualTo(min);
        Header max = new Header(Header.F_IN_REPLY_TO | Header.F_IN_REGARDS_TO | Header.F_TRACE, Integer.MAX_VALUE,
                Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, new byte[Header.MAX_TRACE_BYTES]);
        byte[] enc = max.encode(new byte[0]);
        assertThat(enc).hasSize(Header.MAX_BYTES);
        assertThat(Header.decode(enc).header()).isEqualTo(max);
        assertThat(Header.decode(enc).payload()).isEmpty();
    }

    @Test
    void constructorRejectsInconsistentFields() {
        assertThatThrownBy(() -> new Header(0, -1, 1, 0, 0, null)).hasMessageContaining("type");
        assertThatThrownBy(() -> new Header(0, 1, 0, 0, 0, null)).hasMessageContaining("message id");
        assertThatThrownBy(() -> new Header(Header.F_IN_REPLY_TO, 1, 1, 0, 0, null)).hasMessageContaining("in-reply-to");
        assertThatThrownBy(() -> new Header(0, 1, 1, 5, 0, null)).hasMessageContaining("in-reply-to");
        assertThatThrownBy(() -> new Header(0, 1, 1, 0, 5, null)).hasMessageContaining("in-regards-to");
        assertThatThrownBy(() -> new Header(Header.F_TRACE, 1, 1, 0, 0, null)).hasMessageContaining("trace");
        assertThatThrownBy(() -> new Header(Header.F_TRACE, 1, 1, 0, 0, new byte[129])).hasMessageContaining("trace");
        assertThatThrownBy(() -> new Header(0x100, 1, 1, 0, 0, null)).hasMessageContaining("flags");
        assertThatThrownBy(() -> new Header(Header.F_CONVERSATION_OPEN | Header.F_IN_REGARDS_TO, 1, 1, 0, 2, null))
                .hasMessageContaining("conversation-open");
    }

    static byte[] bytes(int... b) {
        byte[] out = new byte[b.length];
        for (int i = 0; i < b.length; i++) out[i] = (byte) b[i];
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            empty                          |                              | shorter than 2 bytes
            one byte                       | 01                           | shorter than 2 bytes
            version 0                      | 0000 00 01                   | version 0
            version 2                      | 0200 00 01                   | version 2
            type missing                   | 0100                         | message type: truncated
            type truncated                 | 0100 80                      | message type: truncated
            type over 2^31-1               | 0100 8080808008 01           | message type: 2147483648 exceeds limit
            type not minimal               | 0100 8000 01                 | not minimally encoded
            id missing                     | 0100 05                      | message id: truncated
            id zero                        | 0100 05 00                   | message id 0
            id varint over 9 bytes         | 0100 05 80808080808080808001 | longer than 9 bytes
            in-reply-to missing            | 0101 05 01                   | in-reply-to: truncated
            in-reply-to zero               | 0101 05 01 00                | in-reply-to 0
            in-regards-to missing          | 0102 05 01                   | in-regards-to: truncated
            in-regards-to zero             | 0102 05 01 00                | in-regards-to 0
            both present, regards missing  | 0103 05 01 02                | in-regards-to: truncated
            trace length missing           | 0104 05 01                   | trace context length: truncated
            trace empty                    | 0104 05 01 00                | trace context truncated or empty
            trace over 128 bytes           | 0104 05 01 8101              | trace context length: 129 exceeds limit 128
            trace truncated                | 0104 05 01 03 aabb           | trace context truncated or empty
            open with in-reply-to          | 0111 05 01 02                | conversation-open
            open with in-regards-to        | 0112 05 01 02                | conversation-open
            """)
    void malformedFramesNameTheBadField(String name, String hex, String message) {
        byte[] frame = hex == null ? new byte[0] : HexFormat.of().parseHex(hex.replace(" ", ""));
        assertThatThrownBy(() -> Header.decode(frame)).as(name)
                .isInstanceOf(MalformedFrameException.class)
                .hasMessageContaining(message);
    }

    @Test
    void payloadIsEverythingAfterTheHeader() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(bytes(1, Header.F_TRACE | Header.F_REQUEST, 5, 9, 2, 0xAA, 0xBB));
        b.writeBytes("rest".getBytes(StandardCharsets.UTF_8));
        Header.Frame f = Header.decode(b.toByteArray());
        assertThat(f.header().trace()).containsExactly(0xAA, 0xBB);
        assertThat(f.header().has(Header.F_REQUEST)).isTrue();
        assertThat(new String(f.payload(), StandardCharsets.UTF_8)).isEqualTo("rest");
        assertThat(Arrays.equals(f.header().encode(f.payload()), b.toByteArray())).isTrue();
    }
}
