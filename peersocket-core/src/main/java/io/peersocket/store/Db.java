package io.peersocket.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store's SQLite connection as seen by a {@link StoreWork}: usable only on the store thread, only while
 * the work runs. Prepared statements are cached by SQL text (at most {@value #MAX_CACHED_STATEMENTS}, least
 * recently used closed first), so use constant SQL with {@code ?} parameters, never SQL built from data.
 */
public final class Db {
    /** How many prepared statements the cache keeps. */
    public static final int MAX_CACHED_STATEMENTS = 128;

    private static final Logger log = LoggerFactory.getLogger(Db.class);

    private final Connection connection;
    private final Thread owner;
    private final LinkedHashMap<String, PreparedStatement> statements =
            new LinkedHashMap<>(64, 0.75f, true) {
                private static final long serialVersionUID = 1L;

                @Override
                protected boolean removeEldestEntry(Map.Entry<String, PreparedStatement> eldest) {
                    if (size() <= MAX_CACHED_STATEMENTS) {
                        return false;
                    }
                    closeQuietly(eldest.getValue());
                    return true;
                }
            };

    Db(Connection connection, Thread owner) {
        this.connection = connection;
        this.owner = owner;
    }

    /**
     * The JDBC connection (auto-commit mode; the store brackets work with {@code BEGIN}/{@code COMMIT}
     * itself). Do not close it, change auto-commit or issue transaction statements.
     *
     * @throws IllegalStateException if not called on the store thread
     */
    public Connection connection() {
        checkThread();
        return connection;
    }

    /**
     * A cached prepared statement for {@code sql}, with its parameters cleared. Do not close it; close the
     * result sets it returns.
     *
     * @throws IllegalStateException if not called on the store thread
     * @throws SQLException if SQLite cannot prepare {@code sql}
     */
    public PreparedStatement prepare(String sql) throws SQLException {
        checkThread();
        PreparedStatement ps = statements.get(sql);
        if (ps == null) {
            ps = connection.prepareStatement(sql);
            statements.put(sql, ps);
        } else {
            ps.clearParameters();
        }
        return ps;
    }

    /**
     * Runs a data-changing statement with positional parameters (set with {@code setObject}).
     *
     * @return the number of rows changed
     * @throws SQLException from SQLite
     */
    public int update(String sql, Object... params) throws SQLException {
        PreparedStatement ps = prepare(sql);
        for (int i = 0; i < params.length; i++) {
            ps.setObject(i + 1, params[i]);
        }
        return ps.executeUpdate();
    }

    /** Runs a statement that is not cached (transaction control, pragmas, migrations). */
    void execute(String sql) throws SQLException {
        try (var st = connection.createStatement()) {
            st.execute(sql);
        }
    }

    void close() {
        for (Iterator<PreparedStatement> it = statements.values().iterator(); it.hasNext(); ) {
            closeQuietly(it.next());
            it.remove();
        }
        try {
            connection.close();
        } catch (SQLException e) {
            log.warn("closing SQLite connection failed", e);
        }
    }

    private void checkThread() {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("Db used outside the store thread (from " + Thread.currentThread() + ")");
        }
    }

    private static void closeQuietly(PreparedStatement ps) {
        try {
            ps.close();
        } catch (SQLException e) {
            log.debug("closing cached statement failed", e);
        }
    }
}
