package io.peersocket.protocol.content;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.util.Varint;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class ContentCodecTest {
    static byte[] addr(int b) {
        byte[] a = new byte[32];
        Arrays.fill(a, (byte) b);
        return a;
    }

    @Test
    void everyMessageRoundTrips() {
        List<ContentCodec.Msg> all = List.of(
                new ContentCodec.Retrieve(7, 3, addr(1)),
                new ContentCodec.Deliver(7, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9}),
                new ContentCodec.NotFound(7, ContentCodec.REASON_NO_ROUTE),
                new ContentCodec.Cancel(9),
                new ContentCodec.Push(1, 4, addr(2), new byte[] {0, 0, 0, 0, 0, 0, 0, 0}),
                new ContentCodec.Receipt(1, addr(2), new byte[] {0, 36, 8, 1}, new byte[64]),
                new ContentCodec.PushFailed(1, ContentCodec.REASON_TIMEOUT),
                new ContentCodec.Subscribe(5, 32),
                new ContentCodec.Cursor(5, new long[] {1234, 0, 7}),
                new ContentCodec.Get(5, ContentCodec.LIVE, 10, 0),
                new ContentCodec.Get(5, ContentCodec.HISTORICAL, 0, 10),
                new ContentCodec.Offer(5, ContentCodec.HISTORICAL, 0, 10, new long[] {1, 4, 10}, new long[] {1, -1, Long.MIN_VALUE}),
                new ContentCodec.Want(5, ContentCodec.HISTORICAL, 10, new byte[] {5}),
                new ContentCodec.Delivery(5, ContentCodec.LIVE, 10, 2, 40, false, new byte[] {1, 0, 0, 0, 0, 0, 0, 0, 7}),
                new ContentCodec.Delivery(5, ContentCodec.LIVE, 10, 2, 0, true, new byte[0]),
                new ContentCodec.Nack(5, ContentCodec.LIVE, 10, new int[] {0, 3}),
                new ContentCodec.Unsubscribe(5));
        for (ContentCodec.Msg m : all) assertThat(ContentCodec.decode(ContentCodec.encode(m))).as(m.toString()).isEqualTo(m);
    }

    @Test
    void offeredHashesCostAPrefixPlusOneByteEach() {
        long[] as = new long[128];
        long[] idx = new long[128];
        for (int i = 0; i < 128; i++) {
            as[i] = ContentCodec.prefix(addr(i));
            idx[i] = i + 1;
        }
        byte[] enc = ContentCodec.encode(new ContentCodec.Offer(3, 0, 0, 128, idx, as));
        assertThat(enc.length).isLessThanOrEqualTo(128 * 9 + 10);
        assertThat(ContentCodec.prefix(addr(0x7f))).isEqualTo(0x7f7f7f7f7f7f7f7fL);
    }

    @Test
    void offersThatLieAboutIndicesAreRejected() {
        // an index beyond the range
        assertThatThrownBy(() -> ContentCodec.decode(rawOffer(0, 5, 2, new long[] {1, 6})))
                .isInstanceOf(ContentProtocolException.class).hasMessageContaining("outside (0, 5]");
        // more hashes than indices in the range
        assertThatThrownBy(() -> ContentCodec.decode(rawOffer(0, 1, 2, new long[] {1, 2})))
                .isInstanceOf(ContentProtocolException.class).hasMessageContaining("in a range of 1");
        // range ending before it starts
        assertThatThrownBy(() -> ContentCodec.decode(rawOffer(9, 5, 0, new long[0])))
                .isInstanceOf(ContentProtocolException.class).hasMessageContaining("ends before it starts");
        // oversized batch
        assertThatThrownBy(() -> ContentCodec.decode(rawOffer(0, 1000, 129, new long[0])))
                .isInstanceOf(ContentProtocolException.class).hasMessageContaining("offer count");
        // truncated: claims 2 hashes, carries 1
        byte[] two = rawOffer(0, 5, 2, new long[] {1, 2});
        assertThatThrownBy(() -> ContentCodec.decode(Arrays.copyOf(two, two.length - 8)))
                .isInstanceOf(ContentProtocolException.class);
    }

    @Test
    void boundsAreEnforced() {
        assertThatThrownBy(() -> ContentCodec.decode(new byte[0])).isInstanceOf(ContentProtocolException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> ContentCodec.decode(new byte[] {0x7f})).isInstanceOf(ContentProtocolException.class).hasMessageContaining("unknown message type");
        byte[] big = new byte[1 + 1 + ContentCodec.MAX_PAYLOAD_BYTES + 1];
        big[0] = ContentCodec.DELIVER;
        assertThatThrownBy(() -> ContentCodec.decode(big)).isInstanceOf(ContentProtocolException.class).hasMessageContaining("exceeds");
        assertThatThrownBy(() -> ContentCodec.decode(new byte[] {ContentCodec.SUBSCRIBE, 3, 33})).hasMessageContaining("bin 33");
        assertThatThrownBy(() -> ContentCodec.decode(new byte[] {ContentCodec.SUBSCRIBE, 3, 2})).hasMessageContaining("empty");
        assertThatThrownBy(() -> ContentCodec.decode(new byte[] {ContentCodec.SUBSCRIBE, 3, 4, 0})).hasMessageContaining("trailing");
        assertThatThrownBy(() -> ContentCodec.decode(new byte[] {ContentCodec.CURSOR, 30, 4, 1, 1, 1, 1})).hasMessageContaining("cursor count");
        assertThatThrownBy(() -> ContentCodec.decode(new byte[] {ContentCodec.WANT, 3, 0, 5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}))
                .hasMessageContaining("bit vector");
        assertThatThrownBy(() -> ContentCodec.decode(new byte[] {ContentCodec.GET, 3, 1, 5, 0})).hasMessageContaining("historical get without an end");
        assertThatThrownBy(() -> ContentCodec.decode(new byte[] {ContentCodec.NACK, 3, 1, 5, 2, 3, 3})).hasMessageContaining("strictly increasing");
        assertThatThrownBy(() -> ContentCodec.decode(new byte[] {ContentCodec.RETRIEVE, 1, 33})).hasMessageContaining("hops 33");
    }

    static byte[] rawOffer(long from, long to, int count, long[] indices) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(ContentCodec.OFFER);
        o.write(4);
        o.write(ContentCodec.HISTORICAL);
        o.writeBytes(Varint.encode(from));
        o.writeBytes(Varint.encode(to));
        o.writeBytes(Varint.encode(count));
        long prev = from;
        for (long i : indices) {
            o.writeBytes(Varint.encode(Math.max(0, i - prev - 1)));
            o.writeBytes(java.util.Arrays.copyOf(addr((int) i), ContentCodec.PREFIX_BYTES));
            prev = i;
        }
        return o.toByteArray();
    }
}
