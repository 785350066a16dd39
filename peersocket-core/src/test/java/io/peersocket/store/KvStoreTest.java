package io.peersocket.store;

import static io.peersocket.store.StoreTest.await;
import static io.peersocket.store.StoreTest.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KvStoreTest {
    @TempDir
    Path dir;

    @Test
    void putGetDeleteAndPersistAcrossReopen() throws Exception {
        try (Store store = Store.open(dir)) {
            KvStore kv = store.kv();
            assertThat(await(kv.get("node.listen"))).isEmpty();
            byte[] value = bytes("/ip4/0.0.0.0/udp/4001/quic-v1");
            kv.put("node.listen", value);
            value[0] = 'X'; // the store copied it
            kv.put("empty", new byte[0]);
            kv.put("gone", bytes("soon"));
            assertThat(await(kv.delete("gone"))).isTrue();
            assertThat(await(kv.delete("gone"))).isFalse();
            kv.put("over", bytes("1"));
            kv.put("over", bytes("2"));
        }
        try (Store store = Store.open(dir)) {
            KvStore kv = store.kv();
            assertThat(await(kv.get("node.listen"))).get()
                    .satisfies(v -> assertThat(v).isEqualTo(bytes("/ip4/0.0.0.0/udp/4001/quic-v1")));
            assertThat(await(kv.get("empty"))).get().satisfies(v -> assertThat(v).isEmpty());
            assertThat(await(kv.get("gone"))).isEmpty();
            assertThat(await(kv.get("over"))).get().satisfies(v -> assertThat(v).isEqualTo(bytes("2")));
        }
    }

    @Test
    void rejectsBadKeysAndValues() throws Exception {
        try (Store store = Store.open(dir)) {
            KvStore kv = store.kv();
            assertThatThrownBy(() -> kv.put("", bytes("x"))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("key");
            assertThatThrownBy(() -> kv.get("k".repeat(257))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("257 chars");
            assertThatThrownBy(() -> kv.put("big", new byte[KvStore.MAX_VALUE_BYTES + 1]))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'big'");
            assertThatThrownBy(() -> kv.put("null", null)).isInstanceOf(NullPointerException.class);
        }
    }
}
