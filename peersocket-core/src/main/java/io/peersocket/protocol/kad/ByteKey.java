package io.peersocket.protocol.kad;

import java.util.Arrays;

/** A byte-array map key with value equality (the array is not copied; callers pass arrays they do not change). */
record ByteKey(byte[] bytes) {
    @Override public boolean equals(Object o) { return o instanceof ByteKey k && Arrays.equals(bytes, k.bytes); }

    @Override public int hashCode() { return Arrays.hashCode(bytes); }

    @Override public String toString() { return KadMessage.printable(bytes); }
}
