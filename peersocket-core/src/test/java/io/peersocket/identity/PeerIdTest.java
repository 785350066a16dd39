package io.peersocket.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeerIdTest {
    static HostKey alice() throws Exception {
        return HostKey.fromSeed(MessageDigest.getInstance("SHA-256").digest("alice".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void aliceTestVector() throws Exception {
        assertThat(alice().peerId().toString()).isEqualTo("12D3KooWQCkBm1BYtkHpocxCwMgR8yjitEeHGx8spzcDLGt2gkBm");
    }

    @Test
    void textRoundTripsBothForms() throws Exception {
        PeerId id = alice().peerId();
        assertThat(PeerId.parse(id.toString())).isEqualTo(id);
        String cid = id.toCidString();
        assertThat(cid).startsWith("bafzaa");
        assertThat(PeerId.parse(cid)).isEqualTo(id);
        assertThat(PeerId.fromBytes(id.toBytes())).isEqualTo(id);
        assertThat(id.publicKey()).isEqualTo(alice().publicKey());
    }

    @Test
    void sha256PeerIdsParse() {
        // A well-known RSA peer id (the IPFS bootstrap node "QmNnoo…").
        PeerId id = PeerId.parse("QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN");
        assertThat(id.toBytes()).hasSize(34);
        assertThat(id.publicKey()).isNull();
        assertThat(id.toString()).isEqualTo("QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN");
    }

    @Test
    void malformedPeerIdsNameTheProblem() {
        assertThatThrownBy(() -> PeerId.parse("")).isInstanceOf(InvalidPeerIdException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> PeerId.parse("12D3KooW0OIl")).isInstanceOf(InvalidPeerIdException.class)
                .hasMessageContaining("invalid base58 character '0'");
        assertThatThrownBy(() -> PeerId.parse("xyz")).isInstanceOf(InvalidPeerIdException.class)
                .hasMessageContaining("expected base58btc");
        assertThatThrownBy(() -> PeerId.parse("12D3KooWQCkBm1BYtkHpocxCwMgR8yjitEeHGx8spzcDLGt2gk"))
                .isInstanceOf(InvalidPeerIdException.class).hasMessageContaining("multihash");
        assertThatThrownBy(() -> PeerId.fromBytes(new byte[] {0x13, 0x01, 0x00}))
                .hasMessageContaining("neither identity nor sha2-256");
        assertThatThrownBy(() -> PeerId.fromBytes(new byte[100])).hasMessageContaining("limit 64");
        assertThatThrownBy(() -> PeerId.parse("b" + "a".repeat(200))).hasMessageContaining("longer than");
    }

    @Test
    void signAndVerify() throws Exception {
        HostKey k = alice();
        byte[] msg = "hello".getBytes(StandardCharsets.UTF_8);
        byte[] sig = k.sign(msg);
        assertThat(sig).hasSize(64);
        assertThat(k.publicKey().verify(msg, sig)).isTrue();
        sig[0] ^= 1;
        assertThat(k.publicKey().verify(msg, sig)).isFalse();
        assertThat(k.publicKey().verify(msg, new byte[3])).isFalse();
        assertThat(PublicKey.fromProto(k.publicKey().toProto())).isEqualTo(k.publicKey());
    }

    @Test
    void keyFileIsCreatedOwnerOnlyAndReused(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("node");
        HostKey first = HostKey.loadOrCreate(data);
        Path file = data.resolve(HostKey.FILE_NAME);
        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        HostKey again = HostKey.loadOrCreate(data);
        assertThat(again.peerId()).isEqualTo(first.peerId());
        assertThat(again.seed()).isEqualTo(first.seed());
    }

    @Test
    void corruptKeyFileIsAClearError(@TempDir Path dir) throws Exception {
        Files.write(dir.resolve(HostKey.FILE_NAME), new byte[] {1, 2, 3});
        assertThatThrownBy(() -> HostKey.loadOrCreate(dir)).hasMessageContaining(HostKey.FILE_NAME);
    }
}
