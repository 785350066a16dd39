package io.peersocket.protocol.pubsub;

import io.peersocket.identity.PeerId;
import java.nio.ByteBuffer;

/**
 * A pubsub message as delivered to a subscription handler or a validator (libp2p specs pubsub/README.md "The
 * Message"). Immutable; {@link #data()} returns a copy.
 */
public final class PubSubMessage {
    private static final byte[] EMPTY = new byte[0];

    private final PeerId from;
    private final byte[] fromBytes;
    private final byte[] seqno;
    private final byte[] data;
    private final String topic;
    private final boolean signed;
    private final PeerId receivedFrom;
    MessageId id; // set by the router once computed

    PubSubMessage(PeerId from, byte[] fromBytes, byte[] seqno, byte[] data, String topic, boolean signed, PeerId receivedFrom) {
        this.from = from;
        this.fromBytes = fromBytes == null ? EMPTY : fromBytes;
        this.seqno = seqno == null ? EMPTY : seqno;
        this.data = data == null ? EMPTY : data;
        this.topic = topic;
        this.signed = signed;
        this.receivedFrom = receivedFrom;
    }

    /** The author (the {@code from} field), or null for an unsigned message. */
    public PeerId from() { return from; }

    /** The sequence number: the 8-byte big-endian {@code seqno} as an unsigned long (0 if absent or not 8 bytes). */
    public long seqno() { return seqno.length == 8 ? ByteBuffer.wrap(seqno).getLong() : 0; }

    /** The payload (a copy). */
    public byte[] data() { return data.clone(); }

    /** Payload length in bytes. */
    public int size() { return data.length; }

    /** The topic. */
    public String topic() { return topic; }

    /** Whether the message carries a (verified) signature. */
    public boolean signed() { return signed; }

    /** The peer that forwarded it to us (this node for own messages). */
    public PeerId receivedFrom() { return receivedFrom; }

    /** Its message id, or null before the router computed it (inside a {@link MessageIdFunction}). */
    public MessageId id() { return id; }

    /** The {@code from} field as sent: the author's peer id bytes (empty if absent); a copy. */
    public byte[] fromBytes() { return fromBytes.clone(); }

    /** The {@code seqno} field as sent (empty if absent); a copy. */
    public byte[] seqnoBytes() { return seqno.clone(); }

    byte[] rawFrom() { return fromBytes; }

    byte[] rawSeqno() { return seqno; }

    byte[] rawData() { return data; }

    @Override public String toString() {
        return "PubSubMessage(topic=" + topic + ", from=" + from + ", seqno=" + Long.toUnsignedString(seqno()) + ", "
                + data.length + " bytes)";
    }
}
