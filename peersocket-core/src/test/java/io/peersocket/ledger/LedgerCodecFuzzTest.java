package io.peersocket.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Jazzer targets for the ledger decoders. Regression mode (seeds in {@code LedgerCodecFuzzTestInputs/<method>/}) runs
 * with the normal tests; {@code JAZZER_FUZZ=1} fuzzes.
 *
 * <p>Properties: bad input fails only with {@link MalformedLedgerException}; accepted blocks and txs re-encode to
 * exactly the input (the encoding is canonical); wire payloads re-encode to something that decodes the same.
 */
class LedgerCodecFuzzTest {
    @FuzzTest
    void tx(byte[] data) {
        Tx t;
        try {
            t = Tx.decode(data);
        } catch (MalformedLedgerException expected) {
            return;
        }
        assertThat(t.encode()).isEqualTo(data);
        t.signatureValid("fuzz"); // must not throw
    }

    @FuzzTest
    void block(byte[] data) {
        Block b;
        try {
            b = Block.decode(data);
        } catch (MalformedLedgerException expected) {
            return;
        }
        assertThat(b.encode()).isEqualTo(data);
        b.signatureValid();
        try {
            new ChainState(b.chain()).verify(b, 0, 0);
        } catch (MalformedLedgerException expected) {
            // verification failures are named, never a crash
        }
    }

    @FuzzTest
    void wire(byte[] data) throws MalformedLedgerException {
        try {
            LedgerWire.Info i = LedgerWire.Info.decode(data);
            assertThat(LedgerWire.Info.decode(i.encode()).height()).isEqualTo(i.height());
        } catch (MalformedLedgerException expected) {
            // fine
        }
        try {
            LedgerWire.Announce a = LedgerWire.Announce.decode(data);
            assertThat(LedgerWire.Announce.decode(a.encode()).addresses()).isEqualTo(a.addresses());
        } catch (MalformedLedgerException expected) {
            // fine
        }
        try {
            assertThat(LedgerWire.decodeBlocks(data)).hasSizeLessThanOrEqualTo(LedgerWire.MAX_BLOCKS);
        } catch (MalformedLedgerException expected) {
            // fine
        }
        try {
            assertThat(LedgerWire.decodeHashes(data)).hasSizeLessThanOrEqualTo(LedgerWire.MAX_HASHES);
        } catch (MalformedLedgerException expected) {
            // fine
        }
        try {
            LedgerWire.Range r = LedgerWire.Range.decode(data, LedgerWire.MAX_HASHES);
            assertThat(r.count()).isBetween(1, LedgerWire.MAX_HASHES);
        } catch (MalformedLedgerException expected) {
            // fine
        }
    }
}
