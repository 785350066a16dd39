package io.peersocket.protocol.content;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Jazzer targets for the content protocol decoders. Regression mode (seeds in {@code ContentCodecFuzzTestInputs/<method>/})
 * runs with the normal tests; {@code JAZZER_FUZZ=1} fuzzes.
 *
 * <p>Properties: bad input fails only with {@link ContentProtocolException}; anything accepted respects the bounds
 * (offered indices strictly increasing inside the range, at most 128; payloads ≤ 4,104 bytes) and re-encodes to a
 * message that decodes to the same value. The interval blob decoder never throws and yields ordered, disjoint
 * ranges.
 */
class ContentCodecFuzzTest {

    @FuzzTest
    void decode(byte[] data) {
        ContentCodec.Msg m;
        try {
            m = ContentCodec.decode(data);
        } catch (ContentProtocolException expected) {
            return;
        }
        switch (m) {
            case ContentCodec.Offer o -> {
                assertThat(o.indices()).hasSizeLessThanOrEqualTo(ContentCodec.MAX_BATCH);
                long prev = o.from();
                for (long i : o.indices()) {
                    assertThat(i).isGreaterThan(prev).isLessThanOrEqualTo(o.to());
                    prev = i;
                }
            }
            case ContentCodec.Deliver d -> assertThat(d.payload().length).isBetween(1, ContentCodec.MAX_PAYLOAD_BYTES);
            case ContentCodec.Delivery d -> assertThat(d.payload().length).isLessThanOrEqualTo(ContentCodec.MAX_PAYLOAD_BYTES);
            case ContentCodec.Want w -> assertThat(w.bits().length).isLessThanOrEqualTo(ContentCodec.MAX_BATCH / 8);
            case ContentCodec.Cursor c -> assertThat(c.lo() + c.lasts().length - 1).isLessThanOrEqualTo(ContentCodec.MAX_BIN);
            default -> { }
        }
        assertThat(ContentCodec.decode(ContentCodec.encode(m))).isEqualTo(m);
    }

    @FuzzTest
    void intervals(byte[] data) {
        Intervals iv = IntervalStore.decode(data);
        long[] a = iv.toArray();
        for (int i = 0; i < a.length; i += 2) {
            assertThat(a[i]).isPositive().isLessThanOrEqualTo(a[i + 1]);
            if (i > 0) assertThat(a[i]).isGreaterThan(a[i - 1] + 1);
        }
        assertThat(IntervalStore.decode(IntervalStore.encode(iv)).toArray()).containsExactly(a);
    }
}
