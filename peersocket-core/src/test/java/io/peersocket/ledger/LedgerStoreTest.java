package io.peersocket.ledger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.identity.HostKey;
import io.peersocket.store.Store;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ledger tables in a real SQLite store: appends, a rebuild in one transaction, a failed rebuild, reload. */
class LedgerStoreTest {
    static final String CHAIN = "store";
    static final HostKey KEY = HostKey.fromSeed(LedgerCodecTest.filled(8));

    static List<Block> grow(ChainState s, int n, long salt) throws Exception {
        List<Block> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            List<Tx> txs = List.of(Tx.proof(CHAIN, KEY, LedgerCodecTest.filled(i), salt * 1000 + i));
            Block b = Block.produce(CHAIN, s.height() + 1, s.tipHash(), 1000 + s.height() + salt, KEY, txs);
            s.append(b, Long.MAX_VALUE / 2, 0);
            out.add(b);
        }
        return out;
    }

    static ChainState reload(LedgerStore ls) throws Exception {
        ChainState s = new ChainState(CHAIN);
        for (byte[] b : ls.loadBlocks().get()) s.append(Block.decode(b), Long.MAX_VALUE / 2, 0);
        return s;
    }

    @Test
    void appendRebuildAndFailedRebuildSurviveReopen(@TempDir Path dir) throws Exception {
        ChainState a = new ChainState(CHAIN);
        Tx asset = Tx.asset(CHAIN, KEY, "gold", new byte[0], 1);
        Tx issue = Tx.issue(CHAIN, KEY, asset.id(), KEY.publicKey().raw(), 2);
        Block first = Block.produce(CHAIN, 1, a.tipHash(), 1000, KEY, List.of(asset, issue));
        a.append(first, Long.MAX_VALUE / 2, 0);
        try (Store store = Store.open(dir)) {
            LedgerStore ls = LedgerStore.open(store, CHAIN).get();
            ls.commit(0, List.of(first), a, false).get();
            List<Block> more = grow(a, 5, 1);
            for (Block b : more) ls.commit(b.height() - 1, List.of(b), a, false).get();
            assertThat(ls.count("ledger_blocks").get()).isEqualTo(6);
            assertThat(ls.count("ledger_txs").get()).isEqualTo(7);
            assertThat(ls.count("ledger_assets").get()).isEqualTo(1);
            assertThat(ls.count("ledger_tokens").get()).isEqualTo(1);

            // a competing chain from fork point 2, longer
            ChainState b = a.truncated(2);
            List<Block> fork = grow(b, 6, 2);
            ls.failAtStatement = 7;
            assertThatThrownBy(() -> ls.commit(2, fork, b, true).get()).hasMessageContaining("injected failure");
            assertThat(reload(ls).tipHash()).as("failed rebuild left the old chain").isEqualTo(a.tipHash());
            assertThat(ls.count("ledger_txs").get()).isEqualTo(7);
            ls.failAtStatement = -1;
            ls.commit(2, fork, b, true).get();
            assertThat(reload(ls).tipHash()).isEqualTo(b.tipHash());
            assertThat(ls.count("ledger_blocks").get()).isEqualTo(8);
            assertThat(ls.count("ledger_txs").get()).isEqualTo(2 + 1 + 6);
            assertThat(ls.count("ledger_tokens").get()).isEqualTo(1);
        }
        try (Store store = Store.open(dir)) {
            LedgerStore ls = LedgerStore.open(store, CHAIN).get();
            ChainState r = reload(ls);
            assertThat(r.height()).isEqualTo(8);
            assertThat(r.assets()).hasSize(1);
            assertThat(r.tokens()).containsKey(Bytes.hex(issue.id()));
        }
    }
}
