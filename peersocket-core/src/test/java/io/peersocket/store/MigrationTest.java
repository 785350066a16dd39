package io.peersocket.store;

import static io.peersocket.store.StoreTest.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MigrationTest {
    static final Migration V1 = Migration.of(1, "notes",
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
    static final Migration V2 = Migration.of(2, "note tags and an index",
            "ALTER TABLE notes ADD COLUMN tag TEXT NOT NULL DEFAULT 'untagged'",
            "UPDATE notes SET tag = 'old' WHERE id < 3",
            "CREATE INDEX notes_tag ON notes (tag)");
    static final Migration V3 = Migration.of(3, "note authors",
            "CREATE TABLE authors (name TEXT PRIMARY KEY)",
            "INSERT INTO authors (name) VALUES ('anon')");

    @TempDir
    Path dir;

    static Store open(Path dir, Migration... migrations) {
        return Store.open(dir, StoreOptions.defaults(), List.of(migrations));
    }

    static List<String> notes(Store store) throws Exception {
        return await(store.read("test.notes", db -> {
            boolean hasTag = false;
            try (ResultSet rs = db.prepare("SELECT name FROM pragma_table_info('notes')").executeQuery()) {
                while (rs.next()) {
                    hasTag |= rs.getString(1).equals("tag");
                }
            }
            List<String> out = new ArrayList<>();
            String sql = hasTag ? "SELECT id || ':' || body || ':' || tag FROM notes ORDER BY id"
                    : "SELECT id || ':' || body FROM notes ORDER BY id";
            try (ResultSet rs = db.prepare(sql).executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
            return out;
        }));
    }

    static List<String> versions(Store store) throws Exception {
        return await(store.read("test.versions", db -> {
            List<String> out = new ArrayList<>();
            try (ResultSet rs = db.prepare("SELECT version || ' ' || description FROM schema_version ORDER BY version")
                    .executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
            return out;
        }));
    }

    @Test
    void migratingFromVersion1PreservesData() throws Exception {
        try (Store store = open(dir, V1)) {
            assertThat(store.schemaVersion()).isEqualTo(1);
            for (int i = 1; i <= 4; i++) {
                int id = i;
                store.write("test.insert", db -> {
                    PreparedStatement ps = db.prepare("INSERT INTO notes (id, body) VALUES (?, ?)");
                    ps.setInt(1, id);
                    ps.setString(2, "note" + id);
                    return ps.executeUpdate();
                });
            }
        }
        try (Store store = open(dir, V1, V2, V3)) {
            assertThat(store.schemaVersion()).isEqualTo(3);
            assertThat(notes(store)).containsExactly("1:note1:old", "2:note2:old", "3:note3:untagged",
                    "4:note4:untagged");
            assertThat(versions(store)).containsExactly("1 notes", "2 note tags and an index", "3 note authors");
        }
        // Reopening at the same version applies nothing again.
        try (Store store = open(dir, V1, V2, V3)) {
            assertThat(notes(store)).hasSize(4);
            long authors = await(store.read("test.authors", db -> {
                try (ResultSet rs = db.prepare("SELECT count(*) FROM authors").executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }));
            assertThat(authors).isEqualTo(1);
        }
    }

    @Test
    void realSchemaMigratesFromVersion1KeepingPeers() throws Exception {
        try (Store store = Store.open(dir, StoreOptions.defaults(), Schema.MIGRATIONS.subList(0, 1))) {
            assertThat(store.schemaVersion()).isEqualTo(1);
            store.peers().recordConnected(PeerStoreTest.A, List.of("/ip4/127.0.0.1/udp/4001/quic-v1"), 10);
            store.peers().recordConnected(PeerStoreTest.B, List.of(), 20);
        }
        try (Store store = Store.open(dir)) {
            assertThat(store.schemaVersion()).isEqualTo(Schema.MIGRATIONS.size());
            assertThat(await(store.peers().knownPeers(10))).extracting(PeerRecord::peerId)
                    .containsExactly(PeerStoreTest.B, PeerStoreTest.A);
            assertThat(await(store.peers().peer(PeerStoreTest.A)).orElseThrow().addresses())
                    .containsExactly("/ip4/127.0.0.1/udp/4001/quic-v1");
            await(store.kv().put("k", new byte[] {1}));
        }
    }

    @Test
    void refusesADatabaseNewerThanTheCode() throws Exception {
        try (Store store = open(dir, V1, V2)) {
            assertThat(store.schemaVersion()).isEqualTo(2);
        }
        assertThatThrownBy(() -> open(dir, V1)).isInstanceOf(StoreException.class)
                .hasMessageContaining("schema version 2").hasMessageContaining("knows versions up to 1")
                .hasMessageContaining("newer");
    }

    @Test
    void aFailingMigrationIsRolledBackAndOpenFailsNamingIt() throws Exception {
        try (Store store = open(dir, V1)) {
            await(store.write("test.insert", db -> db.update("INSERT INTO notes (id, body) VALUES (1, 'kept')")));
        }
        Migration broken = Migration.of(2, "broken step",
                "ALTER TABLE notes ADD COLUMN tag TEXT NOT NULL DEFAULT 'untagged'",
                "INSERT INTO no_such_table VALUES (1)");
        assertThatThrownBy(() -> open(dir, V1, broken)).isInstanceOf(StoreException.class)
                .hasMessageContaining("migration 2 (broken step)").hasMessageContaining("no_such_table");
        // Nothing of the broken step stuck: still version 1, no tag column, data intact.
        try (Store store = open(dir, V1)) {
            assertThat(store.schemaVersion()).isEqualTo(1);
            assertThat(notes(store)).containsExactly("1:kept");
        }
        try (Store store = open(dir, V1, V2)) {
            assertThat(notes(store)).containsExactly("1:kept:old");
        }
    }

    @Test
    void migrationListsMustBeNumberedInOrder() {
        assertThatThrownBy(() -> open(dir, V2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("position 0 has version 2");
        assertThatThrownBy(() -> open(dir, V1, V3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("position 1 has version 3");
        assertThatThrownBy(() -> Migration.of(0, "zero", "SELECT 1")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Migration.of(1, "none")).isInstanceOf(IllegalArgumentException.class);
    }
}
