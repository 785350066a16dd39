package io.peersocket.protocol.content;

import io.peersocket.util.Varint;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * The messages of the three content protocols and their compact encoding (docs/wire.md "Content protocols"). On a
 * stream each message is {@code varint(length) ‖ type (1 byte) ‖ body}; this class encodes and decodes the part
 * after the length. Integers are unsigned varints (minimal encoding), addresses are 32 raw bytes, a payload is the
 * rest of the message.
 *
 * <p>Every count and length is bounded before use ({@link #MAX_MESSAGE_BYTES}, {@link #MAX_PAYLOAD_BYTES},
 * {@link #MAX_BATCH}, {@link #MAX_HOPS}, {@link #MAX_BIN}); offered indices must be strictly increasing inside the
 * offered range. Bad input throws {@link ContentProtocolException} naming the bad part. Stateless and thread-safe.
 */
public final class ContentCodec {
    private ContentCodec() {}

    /** Largest encoded message (after the stream length prefix), bytes. */
    public static final int MAX_MESSAGE_BYTES = 16 * 1024;
    /** Largest chunk data carried ({@code span ‖ payload}, {@code Chunk.MAX_DATA}), bytes. */
    public static final int MAX_PAYLOAD_BYTES = 8 + 4096;
    /** Largest number of offered hashes in one batch (seed 001: a 128-bit wanted vector). */
    public static final int MAX_BATCH = 128;
    /** Largest hop budget of a forwarded retrieval or push. */
    public static final int MAX_HOPS = 32;
    /** Deepest bin pull sync asks for (chunks at PO ≥ this are synced in this bin's neighbourhood by push sync). */
    public static final int MAX_BIN = 32;
    /** Largest storer id in a receipt (a PeerId is at most 64 bytes). */
    public static final int MAX_PEER_ID_BYTES = 64;
    /** Largest receipt signature (Ed25519: 64). */
    public static final int MAX_SIGNATURE_BYTES = 128;
    /** Largest sync index; indices are positive. */
    public static final long MAX_INDEX = (1L << 53) - 1;
    /** Largest "next instalment in" hint, ms. */
    public static final long MAX_NEXT_MS = 3_600_000;
    /** Address length, bytes. */
    public static final int ADDRESS_BYTES = 32;
    /**
     * Length of the address prefix an offer carries per chunk, bytes: enough to tell chunks apart (a collision
     * needs ~2^32 chunks), while the data that follows a WANT is checked against it (forging data with a given
     * 64-bit prefix costs ~2^64 hashes).
     */
    public static final int PREFIX_BYTES = 8;

    // Type bytes: retrieval 0x01.., push sync 0x10.., pull sync 0x20..
    static final int RETRIEVE = 0x01, DELIVER = 0x02, NOT_FOUND = 0x03, CANCEL = 0x04;
    static final int PUSH = 0x10, RECEIPT = 0x11, PUSH_FAILED = 0x12;
    static final int SUBSCRIBE = 0x20, CURSOR = 0x21, GET = 0x22, OFFER = 0x23, WANT = 0x24, DELIVERY = 0x25,
            NACK = 0x26, UNSUBSCRIBE = 0x27;

    /** A decoded content message. */
    public sealed interface Msg permits Retrieve, Deliver, NotFound, Cancel, Push, Receipt, PushFailed, Subscribe,
            Cursor, Get, Offer, Want, Delivery, Nack, Unsubscribe {}

    // ---- retrieval /peersocket/retrieval/1.0.0 ----

    /** Asks for the chunk at {@code address}; forwarded at most {@code hops} more times. */
    public record Retrieve(long id, int hops, byte[] address) implements Msg {
        public Retrieve { checkAddress(address); }
        @Override public boolean equals(Object o) { return o instanceof Retrieve r && r.id == id && r.hops == hops && Arrays.equals(r.address, address); }
        @Override public int hashCode() { return Long.hashCode(id) * 31 + Arrays.hashCode(address); }
        @Override public String toString() { return "Retrieve[" + id + ", hops " + hops + ", " + hex(address) + "]"; }
    }

    /** The chunk asked for by request {@code id} (the receiver checks it against the address it asked for). */
    public record Deliver(long id, byte[] payload) implements Msg {
        @Override public boolean equals(Object o) { return o instanceof Deliver d && d.id == id && Arrays.equals(d.payload, payload); }
        @Override public int hashCode() { return Long.hashCode(id) * 31 + Arrays.hashCode(payload); }
        @Override public String toString() { return "Deliver[" + id + ", " + payload.length + " bytes]"; }
    }

    /** Request {@code id} failed: {@code reason} is one of the {@code REASON_*} codes. */
    public record NotFound(long id, int reason) implements Msg {}

    /** The requester no longer wants request {@code id}. */
    public record Cancel(long id) implements Msg {}

    /** Reason codes of {@link NotFound} and {@link PushFailed}. */
    public static final int REASON_NOT_FOUND = 0, REASON_NO_ROUTE = 1, REASON_HOPS = 2, REASON_TIMEOUT = 3,
            REASON_OVERLOADED = 4, REASON_INVALID = 5;
    static final int MAX_REASON = 5;

    // ---- push sync /peersocket/pushsync/1.0.0 ----

    /** Asks the receiver to store (or forward toward its neighbourhood) the chunk {@code address}. */
    public record Push(long id, int hops, byte[] address, byte[] payload) implements Msg {
        public Push { checkAddress(address); }
        @Override public boolean equals(Object o) {
            return o instanceof Push p && p.id == id && p.hops == hops && Arrays.equals(p.address, address) && Arrays.equals(p.payload, payload);
        }
        @Override public int hashCode() { return Long.hashCode(id) * 31 + Arrays.hashCode(address); }
        @Override public String toString() { return "Push[" + id + ", hops " + hops + ", " + hex(address) + "]"; }
    }

    /** The storer {@code storer} (PeerId bytes) holds {@code address}; {@code signature} by the storer's key. */
    public record Receipt(long id, byte[] address, byte[] storer, byte[] signature) implements Msg {
        public Receipt { checkAddress(address); }
        @Override public boolean equals(Object o) {
            return o instanceof Receipt r && r.id == id && Arrays.equals(r.address, address) && Arrays.equals(r.storer, storer)
                    && Arrays.equals(r.signature, signature);
        }
        @Override public int hashCode() { return Long.hashCode(id) * 31 + Arrays.hashCode(address); }
        @Override public String toString() { return "Receipt[" + id + ", " + hex(address) + "]"; }
    }

    /** Push {@code id} failed ({@code REASON_*}). */
    public record PushFailed(long id, int reason) implements Msg {}

    // ---- pull sync /peersocket/sync/1.0.0 ----

    /** Stream kinds of {@link Get}: live (new chunks, open-ended) and historical (a closed range). */
    public static final int LIVE = 0, HISTORICAL = 1;

    /**
     * Downstream subscribes to the upstream's bins {@code lo … hi}; answered by {@link Cursor}. Each subscription
     * implies a live {@link Get} from the cursor, so the first new chunk is offered without asking.
     */
    public record Subscribe(int lo, int hi) implements Msg {
        public Subscribe {
            if (lo < 0 || hi < lo || hi > MAX_BIN) throw new ContentProtocolException("subscribe bins " + lo + " … " + hi + " not within 0 … " + MAX_BIN);
        }
    }

    /** The upstream's last index (0: empty) in bins {@code lo, lo + 1, …} when the subscription started. */
    public record Cursor(int lo, long[] lasts) implements Msg {
        public Cursor {
            if (lo < 0 || lasts.length == 0 || lo + lasts.length - 1 > MAX_BIN) {
                throw new ContentProtocolException("cursors for bins " + lo + " … " + (lo + lasts.length - 1) + " not within 0 … " + MAX_BIN);
            }
        }
        @Override public boolean equals(Object o) { return o instanceof Cursor c && c.lo == lo && Arrays.equals(c.lasts, lasts); }
        @Override public int hashCode() { return lo * 31 + Arrays.hashCode(lasts); }
        @Override public String toString() { return "Cursor[" + lo + ", " + Arrays.toString(lasts) + "]"; }
    }

    /**
     * Asks for offered hashes of {@code bin} with index in ({@code from}, {@code to}]; {@code to == 0} means
     * open-ended (live: answered when there is something).
     */
    public record Get(int bin, int kind, long from, long to) implements Msg {}

    /**
     * Offered hashes: the chunks of {@code bin} with index in ({@code from}, {@code to}], in index order
     * ({@code indices} strictly increasing, each in the range; at most {@link #MAX_BATCH}), each named by the first
     * {@link #PREFIX_BYTES} bytes of its address ({@link #prefix}).
     */
    public record Offer(int bin, int kind, long from, long to, long[] indices, long[] prefixes) implements Msg {
        public Offer {
            if (indices.length != prefixes.length) throw new ContentProtocolException("offer with " + indices.length + " indices and " + prefixes.length + " prefixes");
        }
        @Override public boolean equals(Object o) {
            return o instanceof Offer f && f.bin == bin && f.kind == kind && f.from == from && f.to == to
                    && Arrays.equals(f.indices, indices) && Arrays.equals(f.prefixes, prefixes);
        }
        @Override public int hashCode() { return (int) (bin * 31 + kind * 7 + from * 3 + to); }
        @Override public String toString() { return "Offer[bin " + bin + ", kind " + kind + ", (" + from + ", " + to + "], " + indices.length + "]"; }
    }

    /** Wanted hashes of the batch ending at {@code to}: bit {@code i} (LSB first) set = send offered entry i. */
    public record Want(int bin, int kind, long to, byte[] bits) implements Msg {
        @Override public boolean equals(Object o) {
            return o instanceof Want w && w.bin == bin && w.kind == kind && w.to == to && Arrays.equals(w.bits, bits);
        }
        @Override public int hashCode() { return (int) (bin * 31 + kind * 7 + to); }
        @Override public String toString() { return "Want[bin " + bin + ", kind " + kind + ", to " + to + "]"; }

        /** Whether entry {@code i} is wanted. */
        public boolean wanted(int i) { return i / 8 < bits.length && (bits[i / 8] >> (i % 8) & 1) != 0; }
    }

    /**
     * One instalment: offered entry {@code seq} of the batch ending at {@code to}, with the next instalment
     * expected within {@code nextMs}; an empty payload with {@code gone} means the upstream no longer has it.
     */
    public record Delivery(int bin, int kind, long to, int seq, long nextMs, boolean gone, byte[] payload) implements Msg {
        @Override public boolean equals(Object o) {
            return o instanceof Delivery d && d.bin == bin && d.kind == kind && d.to == to && d.seq == seq && d.nextMs == nextMs
                    && d.gone == gone && Arrays.equals(d.payload, payload);
        }
        @Override public int hashCode() { return (int) (bin * 31 + kind * 7 + to + seq); }
        @Override public String toString() { return "Delivery[bin " + bin + ", to " + to + ", seq " + seq + (gone ? ", gone" : "") + "]"; }
    }

    /** The downstream missed instalments {@code seqs} of the batch ending at {@code to}: send them again. */
    public record Nack(int bin, int kind, long to, int[] seqs) implements Msg {
        @Override public boolean equals(Object o) {
            return o instanceof Nack n && n.bin == bin && n.kind == kind && n.to == to && Arrays.equals(n.seqs, seqs);
        }
        @Override public int hashCode() { return (int) (bin * 31 + kind * 7 + to); }
        @Override public String toString() { return "Nack[bin " + bin + ", to " + to + ", " + Arrays.toString(seqs) + "]"; }
    }

    /** The downstream stops syncing {@code bin}. */
    public record Unsubscribe(int bin) implements Msg {}

    // ---- encoding -----------------------------------------------------------------------------------

    /** Encodes {@code m} (without the stream length prefix). */
    public static byte[] encode(Msg m) {
        Out o = new Out();
        switch (m) {
            case Retrieve r -> o.b(RETRIEVE).v(r.id).b(r.hops).bytes(r.address);
            case Deliver d -> o.b(DELIVER).v(d.id).bytes(d.payload);
            case NotFound n -> o.b(NOT_FOUND).v(n.id).b(n.reason);
            case Cancel c -> o.b(CANCEL).v(c.id);
            case Push p -> o.b(PUSH).v(p.id).b(p.hops).bytes(p.address).bytes(p.payload);
            case Receipt r -> o.b(RECEIPT).v(r.id).bytes(r.address).v(r.storer.length).bytes(r.storer).bytes(r.signature);
            case PushFailed f -> o.b(PUSH_FAILED).v(f.id).b(f.reason);
            case Subscribe s -> o.b(SUBSCRIBE).b(s.lo).b(s.hi);
            case Cursor c -> {
                o.b(CURSOR).b(c.lo).v(c.lasts.length);
                for (long l : c.lasts) o.v(l);
            }
            case Get g -> o.b(GET).b(g.bin).b(g.kind).v(g.from).v(g.to);
            case Offer f -> {
                o.b(OFFER).b(f.bin).b(f.kind).v(f.from).v(f.to).v(f.indices.length);
                long prev = f.from;
                for (int i = 0; i < f.indices.length; i++) {
                    o.v(f.indices[i] - prev - 1).bytes(java.nio.ByteBuffer.allocate(PREFIX_BYTES).putLong(f.prefixes[i]).array());
                    prev = f.indices[i];
                }
            }
            case Want w -> o.b(WANT).b(w.bin).b(w.kind).v(w.to).bytes(w.bits);
            case Delivery d -> o.b(DELIVERY).b(d.bin).b(d.kind).v(d.to).v(d.seq).v(d.nextMs).b(d.gone ? 1 : 0).bytes(d.payload);
            case Nack n -> {
                o.b(NACK).b(n.bin).b(n.kind).v(n.to).v(n.seqs.length);
                for (int s : n.seqs) o.v(s);
            }
            case Unsubscribe u -> o.b(UNSUBSCRIBE).b(u.bin);
        }
        return o.toByteArray();
    }

    /**
     * Decodes one message.
     *
     * @throws ContentProtocolException if it is malformed, over a bound, has trailing bytes or an unknown type
     */
    public static Msg decode(byte[] data) {
        if (data.length == 0) throw new ContentProtocolException("empty message");
        if (data.length > MAX_MESSAGE_BYTES) {
            throw new ContentProtocolException("message of " + data.length + " bytes exceeds limit " + MAX_MESSAGE_BYTES);
        }
        ByteBuffer in = ByteBuffer.wrap(data);
        int type = in.get() & 0xFF;
        try {
            Msg m = switch (type) {
                case RETRIEVE -> new Retrieve(id(in), hops(in), address(in));
                case DELIVER -> new Deliver(id(in), payload(in, false));
                case NOT_FOUND -> new NotFound(id(in), reason(in));
                case CANCEL -> new Cancel(id(in));
                case PUSH -> {
                    long id = id(in);
                    int hops = hops(in);
                    byte[] a = address(in);
                    yield new Push(id, hops, a, payload(in, false));
                }
                case RECEIPT -> {
                    long id = id(in);
                    byte[] a = address(in);
                    int n = (int) Varint.readBounded(in, MAX_PEER_ID_BYTES, "receipt storer length");
                    byte[] storer = take(in, n, "receipt storer");
                    if (in.remaining() == 0 || in.remaining() > MAX_SIGNATURE_BYTES) {
                        throw new ContentProtocolException("receipt signature of " + in.remaining() + " bytes (1 … " + MAX_SIGNATURE_BYTES + ")");
                    }
                    yield new Receipt(id, a, storer, take(in, in.remaining(), "receipt signature"));
                }
                case PUSH_FAILED -> new PushFailed(id(in), reason(in));
                case SUBSCRIBE -> {
                    int lo = bin(in), hi = bin(in);
                    if (hi < lo) throw new ContentProtocolException("subscribe bins " + lo + " … " + hi + " are empty");
                    yield new Subscribe(lo, hi);
                }
                case CURSOR -> {
                    int lo = bin(in);
                    int n = (int) Varint.readBounded(in, MAX_BIN + 1 - lo, "cursor count");
                    if (n == 0) throw new ContentProtocolException("cursor for no bin");
                    long[] lasts = new long[n];
                    for (int i = 0; i < n; i++) lasts[i] = index(in, "cursor");
                    yield new Cursor(lo, lasts);
                }
                case GET -> {
                    int bin = bin(in), kind = kind(in);
                    long from = index(in, "get from"), to = index(in, "get to");
                    if (to != 0 && to <= from) throw new ContentProtocolException("get range (" + from + ", " + to + "] is empty");
                    if (kind == HISTORICAL && to == 0) throw new ContentProtocolException("historical get without an end");
                    yield new Get(bin, kind, from, to);
                }
                case OFFER -> offer(in);
                case WANT -> {
                    int bin = bin(in), kind = kind(in);
                    long to = index(in, "want to");
                    if (in.remaining() > MAX_BATCH / 8) {
                        throw new ContentProtocolException("wanted bit vector of " + in.remaining() + " bytes exceeds " + MAX_BATCH / 8);
                    }
                    yield new Want(bin, kind, to, take(in, in.remaining(), "wanted bits"));
                }
                case DELIVERY -> {
                    int bin = bin(in), kind = kind(in);
                    long to = index(in, "delivery batch");
                    int seq = (int) Varint.readBounded(in, MAX_BATCH - 1, "delivery seq");
                    long next = Varint.readBounded(in, MAX_NEXT_MS, "delivery next instalment ms");
                    int flag = u8(in, "delivery gone flag");
                    if (flag > 1) throw new ContentProtocolException("delivery gone flag " + flag + " is not 0 or 1");
                    byte[] payload = payload(in, flag == 1);
                    if (flag == 1 && payload.length != 0) throw new ContentProtocolException("gone delivery carries a payload");
                    yield new Delivery(bin, kind, to, seq, next, flag == 1, payload);
                }
                case NACK -> {
                    int bin = bin(in), kind = kind(in);
                    long to = index(in, "nack batch");
                    int n = (int) Varint.readBounded(in, MAX_BATCH, "nack count");
                    if (n == 0) throw new ContentProtocolException("nack names no instalment");
                    int[] seqs = new int[n];
                    for (int i = 0; i < n; i++) {
                        seqs[i] = (int) Varint.readBounded(in, MAX_BATCH - 1, "nack seq");
                        if (i > 0 && seqs[i] <= seqs[i - 1]) throw new ContentProtocolException("nack seqs not strictly increasing");
                    }
                    yield new Nack(bin, kind, to, seqs);
                }
                case UNSUBSCRIBE -> new Unsubscribe(bin(in));
                default -> throw new ContentProtocolException("unknown message type 0x" + Integer.toHexString(type));
            };
            if (in.hasRemaining()) throw new ContentProtocolException(in.remaining() + " trailing bytes after " + m.getClass().getSimpleName());
            return m;
        } catch (ContentProtocolException e) {
            throw e;
        } catch (IllegalArgumentException e) { // Varint bounds
            throw new ContentProtocolException(e.getMessage());
        } catch (java.nio.BufferUnderflowException e) {
            throw new ContentProtocolException("truncated message of type 0x" + Integer.toHexString(type));
        }
    }

    private static Offer offer(ByteBuffer in) {
        int bin = bin(in), kind = kind(in);
        long from = index(in, "offer from"), to = index(in, "offer to");
        if (to < from) throw new ContentProtocolException("offer range (" + from + ", " + to + "] ends before it starts");
        int n = (int) Varint.readBounded(in, MAX_BATCH, "offer count");
        if (n > to - from) throw new ContentProtocolException("offer of " + n + " hashes in a range of " + (to - from) + " indices");
        if (in.remaining() < (long) n * (PREFIX_BYTES + 1)) {
            throw new ContentProtocolException("offer of " + n + " hashes in " + in.remaining() + " bytes");
        }
        long[] indices = new long[n];
        long[] prefixes = new long[n];
        long prev = from;
        for (int i = 0; i < n; i++) {
            long gap = Varint.readBounded(in, MAX_INDEX, "offer index gap");
            long idx = prev + 1 + gap;
            if (idx > to) throw new ContentProtocolException("offered index " + idx + " outside (" + from + ", " + to + "]");
            indices[i] = idx;
            if (in.remaining() < PREFIX_BYTES) throw new ContentProtocolException("offer prefix: truncated");
            prefixes[i] = in.getLong();
            prev = idx;
        }
        return new Offer(bin, kind, from, to, indices, prefixes);
    }

    // ---- field readers ------------------------------------------------------------------------------

    private static long id(ByteBuffer in) { return Varint.readBounded(in, Long.MAX_VALUE >>> 1, "request id"); }

    private static int u8(ByteBuffer in, String what) {
        if (!in.hasRemaining()) throw new ContentProtocolException(what + ": truncated");
        return in.get() & 0xFF;
    }

    private static int hops(ByteBuffer in) {
        int h = u8(in, "hops");
        if (h > MAX_HOPS) throw new ContentProtocolException("hops " + h + " exceeds " + MAX_HOPS);
        return h;
    }

    private static int reason(ByteBuffer in) {
        int r = u8(in, "reason");
        if (r > MAX_REASON) throw new ContentProtocolException("unknown reason code " + r);
        return r;
    }

    private static int bin(ByteBuffer in) {
        int b = u8(in, "bin");
        if (b > MAX_BIN) throw new ContentProtocolException("bin " + b + " exceeds " + MAX_BIN);
        return b;
    }

    private static int kind(ByteBuffer in) {
        int k = u8(in, "stream kind");
        if (k != LIVE && k != HISTORICAL) throw new ContentProtocolException("unknown stream kind " + k);
        return k;
    }

    private static long index(ByteBuffer in, String what) { return Varint.readBounded(in, MAX_INDEX, what); }

    private static byte[] address(ByteBuffer in) { return take(in, ADDRESS_BYTES, "address"); }

    private static byte[] payload(ByteBuffer in, boolean mayBeEmpty) {
        int n = in.remaining();
        if (n > MAX_PAYLOAD_BYTES) throw new ContentProtocolException("chunk payload of " + n + " bytes exceeds " + MAX_PAYLOAD_BYTES);
        if (n == 0 && !mayBeEmpty) throw new ContentProtocolException("empty chunk payload");
        return take(in, n, "payload");
    }

    private static byte[] take(ByteBuffer in, int n, String what) {
        if (in.remaining() < n) throw new ContentProtocolException(what + ": needs " + n + " bytes, " + in.remaining() + " left");
        byte[] b = new byte[n];
        in.get(b);
        return b;
    }

    static void checkAddress(byte[] a) {
        if (a == null || a.length != ADDRESS_BYTES) {
            throw new ContentProtocolException("address must be " + ADDRESS_BYTES + " bytes, got " + (a == null ? "null" : a.length));
        }
    }

    /** The first {@link #PREFIX_BYTES} bytes of an address, big-endian. */
    public static long prefix(byte[] address) { return java.nio.ByteBuffer.wrap(address, 0, PREFIX_BYTES).getLong(); }

    /** The offer prefix of {@code a}. */
    public static long prefix(io.peersocket.content.ChunkAddress a) { return prefix(a.toBytes()); }

    static String hex(byte[] a) { return HexFormat.of().formatHex(a, 0, Math.min(4, a.length)); }

    /** Builds the wanted bit vector for {@code n} entries from {@code wanted}. */
    public static byte[] bits(boolean[] wanted) {
        byte[] b = new byte[(wanted.length + 7) / 8];
        for (int i = 0; i < wanted.length; i++) if (wanted[i]) b[i / 8] |= (byte) (1 << (i % 8));
        return b;
    }

    private static final class Out extends ByteArrayOutputStream {
        Out() { super(64); }
        Out b(int v) { write(v); return this; }
        Out v(long v) {
            byte[] tmp = new byte[Varint.MAX_BYTES + 1];
            int n = Varint.write(v, tmp, 0);
            write(tmp, 0, n);
            return this;
        }
        Out bytes(byte[] b) { write(b, 0, b.length); return this; }
    }
}
