package io.peersocket.protocol.kad;

import io.peersocket.identity.PeerId;
import java.util.Random;

/** Synthetic peer ids (sha256-multihash form) for table and key-space tests. */
final class TestPeers {
    private TestPeers() {}

    static PeerId random(Random rnd) {
        byte[] mh = new byte[34];
        mh[0] = 0x12;
        mh[1] = 0x20;
        byte[] digest = new byte[32];
        rnd.nextBytes(digest);
        System.arraycopy(digest, 0, mh, 2, 32);
        return PeerId.fromBytes(mh);
    }

    /** A random peer whose key has proximity order exactly {@code po} to {@code self}'s (po ≤ ~16). */
    static PeerId inBin(PeerId self, int po, Random rnd) {
        KadKey base = KadKey.of(self);
        while (true) {
            PeerId p = random(rnd);
            if (base.proximity(KadKey.of(p)) == po) return p;
        }
    }
}
