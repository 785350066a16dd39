package io.peersocket.cli;

import io.peersocket.protocol.kad.Kademlia;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * How CLI names map to DHT keys. Provider records are keyed by a sha2-256 multihash (what libp2p
 * implementations expect): {@code dht provide NAME} announces {@code multihash(sha256(UTF-8 NAME))}. Values
 * live under {@code /NAMESPACE/…} keys; CLI nodes accept any value in the {@value #TEST_NAMESPACE}
 * namespace; of two values the greater by unsigned byte order wins, as in the js-libp2p test peer.
 */
final class DhtNames {
    static final String TEST_NAMESPACE = "test";

    private DhtNames() {}

    static byte[] contentKey(String name) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
            byte[] mh = new byte[34];
            mh[0] = 0x12;
            mh[1] = 32;
            System.arraycopy(digest, 0, mh, 2, 32);
            return mh;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Accept-anything validator for the test namespace. */
    static void install(Kademlia kad) {
        kad.registerValidator(TEST_NAMESPACE, new io.peersocket.protocol.kad.Validator() {
            @Override public void validate(byte[] key, byte[] value) {}

            @Override public int select(byte[] key, java.util.List<byte[]> values) {
                int best = 0;
                for (int i = 1; i < values.size(); i++) {
                    if (java.util.Arrays.compareUnsigned(values.get(i), values.get(best)) > 0) best = i;
                }
                return best;
            }
        });
    }
}
