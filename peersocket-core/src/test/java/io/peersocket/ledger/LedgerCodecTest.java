package io.peersocket.ledger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.identity.HostKey;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Encoding vectors, decoder bounds, and block/tx verification failures. */
class LedgerCodecTest {
    static final String CHAIN = "test";
    static final HostKey ALICE = HostKey.fromSeed(filled(1)), BOB = HostKey.fromSeed(filled(2)), PRODUCER = HostKey.fromSeed(filled(3));

    static byte[] filled(int v) {
        byte[] b = new byte[32];
        Arrays.fill(b, (byte) v);
        return b;
    }

    static Block block(ChainState s, HostKey producer, List<Tx> txs) {
        return Block.produce(CHAIN, s.height() + 1, s.tipHash(), 1_000 + s.height(), producer, txs);
    }

    @Test
    void encodingVectors() throws Exception {
        Tx asset = Tx.asset(CHAIN, ALICE, "gold", new byte[] {1, 2}, 7);
        byte[] enc = asset.encode();
        // kind ‖ signer ‖ nonce ‖ len ‖ "gold" ‖ len ‖ fingerprint ‖ signature
        assertThat(enc).hasSize(1 + 32 + 8 + 1 + 4 + 1 + 2 + 64);
        assertThat(enc[0]).isEqualTo((byte) 1);
        assertThat(Arrays.copyOfRange(enc, 1, 33)).isEqualTo(ALICE.publicKey().raw());
        assertThat(Arrays.copyOfRange(enc, 33, 41)).containsExactly(0, 0, 0, 0, 0, 0, 0, 7);
        assertThat(new String(enc, 42, 4, java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("gold");
        assertThat(Tx.decode(enc)).isEqualTo(asset);
        assertThat(asset.signatureValid(CHAIN)).isTrue();
        assertThat(asset.signatureValid("other")).as("signature binds the chain").isFalse();

        Block b = Block.produce(CHAIN, 1, Block.genesisHash(CHAIN), 1_700_000_000_000L, PRODUCER, List.of(asset));
        byte[] header = b.header();
        assertThat(header).hasSize(2 + 4 + 8 + 32 + 8 + 32 + 32 + 2);
        assertThat(header[0]).isEqualTo((byte) 1);
        assertThat(header[1]).isEqualTo((byte) 4);
        assertThat(b.hash()).isEqualTo(Bytes.sha256(header));
        assertThat(b.txRoot()).isEqualTo(Bytes.sha256(asset.id()));
        assertThat(Bytes.hex(Block.genesisHash(CHAIN))).isEqualTo(Bytes.hex(Bytes.sha256("peersocket-ledger-genesis\0test".getBytes())));
        // Ed25519 is deterministic: the same inputs give the same block, byte for byte.
        assertThat(Block.produce(CHAIN, 1, Block.genesisHash(CHAIN), 1_700_000_000_000L, PRODUCER, List.of(asset)).encode()).isEqualTo(b.encode());
        Block d = Block.decode(b.encode());
        assertThat(d).isEqualTo(b);
        assertThat(d.signatureValid()).isTrue();
        assertThat(d.txs()).containsExactly(asset);
    }

    @Test
    void decodersRejectBadInputNamingThePart() {
        Tx t = Tx.proof(CHAIN, ALICE, filled(9), 1);
        byte[] enc = t.encode();
        assertThatThrownBy(() -> Tx.decode(Arrays.copyOf(enc, enc.length - 1))).isInstanceOf(MalformedLedgerException.class).hasMessageContaining("tx signature");
        assertThatThrownBy(() -> Tx.decode(Arrays.copyOf(enc, enc.length + 1))).hasMessageContaining("trailing");
        byte[] bad = enc.clone();
        bad[0] = 9;
        assertThatThrownBy(() -> Tx.decode(bad)).hasMessageContaining("unknown tx kind 9");
        assertThatThrownBy(() -> Tx.decode(new byte[Tx.MAX_BYTES + 1])).hasMessageContaining("exceeds limit");
        Block b = Block.produce(CHAIN, 1, Block.genesisHash(CHAIN), 5, PRODUCER, List.of(t));
        byte[] be = b.encode();
        byte[] count = be.clone();
        count[2 + 4 + 8 + 32 + 8 + 32 + 32] = (byte) 0xFF; // tx count high byte
        assertThatThrownBy(() -> Block.decode(count)).hasMessageContaining("tx count");
        byte[] zeroHeight = be.clone();
        Arrays.fill(zeroHeight, 6, 14, (byte) 0);
        assertThatThrownBy(() -> Block.decode(zeroHeight)).hasMessageContaining("height");
        assertThatThrownBy(() -> LedgerWire.decodeBlocks(new byte[] {(byte) 200})).hasMessageContaining("block count 200");
        assertThatThrownBy(() -> LedgerWire.decodeHashes(new byte[] {0, 2, 1})).hasMessageContaining("hash 0");
        assertThatThrownBy(() -> LedgerWire.Range.decode(new LedgerWire.Range(0, 500).encode(), 128)).hasMessageContaining("range count 500");
        assertThatThrownBy(() -> LedgerWire.Announce.decode(new byte[] {4, 't', 'e', 's', 't'})).hasMessageContaining("public key");
    }

    @Test
    void verificationFailures() throws Exception {
        ChainState s = new ChainState(CHAIN);
        Tx asset = Tx.asset(CHAIN, ALICE, "gold", new byte[0], 1);
        Tx issue = Tx.issue(CHAIN, ALICE, asset.id(), ALICE.publicKey().raw(), 1);
        s.append(block(s, PRODUCER, List.of(asset, issue)), 10_000, 0);
        assertThat(s.tokens().get(Bytes.hex(issue.id())).owner()).isEqualTo(ALICE.publicKey().raw());

        // wrong height
        Block wrongHeight = Block.produce(CHAIN, 5, s.tipHash(), 2_000, PRODUCER, List.of());
        assertThatThrownBy(() -> s.verify(wrongHeight, 10_000, 0)).hasMessageContaining("wrong height 5");
        // wrong prev hash
        Block wrongPrev = Block.produce(CHAIN, 2, filled(7), 2_000, PRODUCER, List.of());
        assertThatThrownBy(() -> s.verify(wrongPrev, 10_000, 0)).hasMessageContaining("wrong prev hash");
        // bad producer signature
        Block good = block(s, PRODUCER, List.of());
        Block forged = new Block(CHAIN, good.height(), good.prev(), good.timestampMs(), BOB.publicKey().raw(), good.txRoot(), good.txs(), good.signature());
        assertThatThrownBy(() -> s.verify(forged, 10_000, 0)).hasMessageContaining("bad producer signature");
        // tx root that does not match the txs
        Block rootless = new Block(CHAIN, good.height(), good.prev(), good.timestampMs(), good.producer(), filled(1), good.txs(), good.signature());
        assertThatThrownBy(() -> s.verify(rootless, 10_000, 0)).hasMessageContaining("wrong tx root");
        // timestamp in the future
        Block future = Block.produce(CHAIN, 2, s.tipHash(), 99_000, PRODUCER, List.of());
        assertThatThrownBy(() -> s.verify(future, 10_000, 1_000)).hasMessageContaining("in the future");
        // tx signed by someone else than the owner
        Tx stolen = Tx.transfer(CHAIN, BOB, issue.id(), issue.id(), BOB.publicKey().raw());
        assertThatThrownBy(() -> s.verify(block(s, PRODUCER, List.of(stolen)), 10_000, 0)).hasMessageContaining("not signed by the token's owner");
        // bad tx signature (bytes of another signer)
        Tx t1 = Tx.transfer(CHAIN, ALICE, issue.id(), issue.id(), BOB.publicKey().raw());
        Tx badSig = new Tx(t1.kind(), t1.signer(), t1.ref(), t1.prev(), CarolKey.RAW, t1.name(), t1.data(), 0, t1.signature());
        assertThatThrownBy(() -> s.verify(block(s, PRODUCER, List.of(badSig)), 10_000, 0)).hasMessageContaining("bad tx signature");
        // double spend: two transfers of the same head, in one block and across blocks
        Tx t2 = Tx.transfer(CHAIN, ALICE, issue.id(), issue.id(), ALICE.publicKey().raw());
        assertThatThrownBy(() -> s.verify(block(s, PRODUCER, List.of(t1, t2)), 10_000, 0)).hasMessageContaining("double spend");
        s.append(block(s, PRODUCER, List.of(t1)), 10_000, 0);
        assertThatThrownBy(() -> s.verify(block(s, PRODUCER, List.of(t2)), 10_000, 0)).hasMessageContaining("double spend");
        // replay of a tx already in the chain
        assertThatThrownBy(() -> s.verify(block(s, PRODUCER, List.of(asset)), 10_000, 0)).hasMessageContaining("already in the chain");
        // issue by someone who did not register the asset
        Tx badIssue = Tx.issue(CHAIN, BOB, asset.id(), BOB.publicKey().raw(), 2);
        assertThatThrownBy(() -> s.verify(block(s, PRODUCER, List.of(badIssue)), 10_000, 0)).hasMessageContaining("registrant");
        // the chain did not change through all that
        assertThat(s.height()).isEqualTo(2);
        assertThat(s.tokens().get(Bytes.hex(issue.id())).owner()).isEqualTo(BOB.publicKey().raw());
        // a chain of the new owner continues
        Tx back = Tx.transfer(CHAIN, BOB, issue.id(), t1.id(), ALICE.publicKey().raw());
        s.append(block(s, PRODUCER, List.of(back)), 10_000, 0);
        assertThat(s.truncated(1).tokens().get(Bytes.hex(issue.id())).owner()).as("replayed state at height 1").isEqualTo(ALICE.publicKey().raw());
        assertThat(s.truncated(2).tokens().get(Bytes.hex(issue.id())).owner()).isEqualTo(BOB.publicKey().raw());
    }

    @Test
    void forkChoiceIsHeightThenLowestTipHash() {
        byte[] low = filled(1), high = filled(2);
        assertThat(ChainState.compare(5, high, 4, low)).isPositive();
        assertThat(ChainState.compare(5, low, 5, high)).isPositive();
        assertThat(ChainState.compare(5, high, 5, low)).isNegative();
        assertThat(ChainState.compare(5, low, 5, low)).isZero();
    }

    static final class CarolKey {
        static final byte[] RAW = HostKey.fromSeed(filled(4)).publicKey().raw();
    }
}
