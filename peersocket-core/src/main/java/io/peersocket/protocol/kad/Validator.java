package io.peersocket.protocol.kad;

import java.util.List;

/**
 * Checks and ranks the records of one key namespace (libp2p kad-dht spec, "Entry validation"). Keys look like
 * {@code /namespace/rest}; register with {@link Kademlia#registerValidator}. Both methods must be pure and
 * fast: they run on the event loop for every stored, sent and received record.
 */
public interface Validator {

    /**
     * Accepts or rejects {@code value} for {@code key}.
     *
     * @throws InvalidRecordException naming why the record is invalid
     */
    void validate(byte[] key, byte[] value);

    /**
     * Picks the best of two or more valid values for {@code key} (e.g. the newest); must be stable. The default
     * picks the first.
     *
     * @return the index of the best value in {@code values}
     */
    default int select(byte[] key, List<byte[]> values) { return 0; }
}
