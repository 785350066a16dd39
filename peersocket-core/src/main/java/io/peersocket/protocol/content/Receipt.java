package io.peersocket.protocol.content;

import io.peersocket.content.ChunkAddress;
import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.identity.PublicKey;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A push-sync receipt (seed 001 "insured chunks should get receipted for finger pointing"): the storer
 * {@code storer} states that it holds {@code address}, signing {@code "peersocket-receipt:" ‖ address} with its
 * host key (Ed25519).
 */
public record Receipt(ChunkAddress address, PeerId storer, byte[] signature) {
    private static final byte[] CONTEXT = "peersocket-receipt:".getBytes(StandardCharsets.US_ASCII);

    /** A receipt for {@code address} signed by {@code key}. */
    public static Receipt sign(HostKey key, ChunkAddress address) {
        return new Receipt(address, key.peerId(), key.sign(signed(address)));
    }

    /** True if the signature is the storer's over this address (the storer's key is inlined in its PeerId). */
    public boolean verify() {
        PublicKey k = storer.publicKey();
        return k != null && k.verify(signed(address), signature);
    }

    private static byte[] signed(ChunkAddress a) {
        byte[] m = Arrays.copyOf(CONTEXT, CONTEXT.length + ChunkAddress.BYTES);
        a.copyTo(m, CONTEXT.length);
        return m;
    }

    @Override public boolean equals(Object o) {
        return o instanceof Receipt r && r.address.equals(address) && r.storer.equals(storer) && Arrays.equals(r.signature, signature);
    }

    @Override public int hashCode() { return address.hashCode() * 31 + storer.hashCode(); }

    @Override public String toString() { return "Receipt[" + address.shortString() + " stored by " + storer.shortString() + "]"; }
}
