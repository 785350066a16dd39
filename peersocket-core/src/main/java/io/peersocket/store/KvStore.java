package io.peersocket.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * A small key-value table for node settings: byte values by string key. Obtained from {@link Store#kv()}.
 * Arguments are validated at once on the calling thread ({@link IllegalArgumentException} naming the bad one);
 * the database work is enqueued and its outcome is the returned future (see {@link Store}). Values are copied
 * in and out.
 */
public final class KvStore {
    /** Longest key accepted, chars. */
    public static final int MAX_KEY_LENGTH = 256;
    /** Largest value accepted, bytes (1 MiB). */
    public static final int MAX_VALUE_BYTES = 1 << 20;

    private final Store store;

    KvStore(Store store) {
        this.store = store;
    }

    /** Sets {@code key} to {@code value}, replacing any previous value. */
    public CompletableFuture<Void> put(String key, byte[] value) {
        checkKey(key);
        Objects.requireNonNull(value, "value");
        if (value.length > MAX_VALUE_BYTES) {
            throw new IllegalArgumentException("value for key '" + key + "' is " + value.length
                    + " bytes, more than " + MAX_VALUE_BYTES);
        }
        byte[] copy = value.clone();
        return store.write("kv.put", db -> {
            PreparedStatement ps = db.prepare(
                    "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
            ps.setString(1, key);
            ps.setBytes(2, copy);
            ps.executeUpdate();
            return null;
        });
    }

    /** The value of {@code key}, or empty if not set. */
    public CompletableFuture<Optional<byte[]>> get(String key) {
        checkKey(key);
        return store.read("kv.get", db -> {
            PreparedStatement ps = db.prepare("SELECT value FROM kv WHERE key = ?");
            ps.setString(1, key);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(rs.getBytes(1)) : Optional.empty();
            }
        });
    }

    /**
     * Removes {@code key}.
     *
     * @return completes with whether it was set
     */
    public CompletableFuture<Boolean> delete(String key) {
        checkKey(key);
        return store.write("kv.delete", db -> db.update("DELETE FROM kv WHERE key = ?", key) > 0);
    }

    private static void checkKey(String key) {
        Objects.requireNonNull(key, "key");
        if (key.isEmpty()) {
            throw new IllegalArgumentException("key is empty");
        }
        if (key.length() > MAX_KEY_LENGTH) {
            throw new IllegalArgumentException("key is " + key.length() + " chars, more than " + MAX_KEY_LENGTH);
        }
    }
}
