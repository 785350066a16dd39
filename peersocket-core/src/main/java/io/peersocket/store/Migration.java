package io.peersocket.store;

import java.util.List;
import java.util.Objects;

/**
 * One step of the store's schema: the SQL statements that take the schema from {@code version - 1} to
 * {@code version}. A store applies each pending migration in its own transaction and records it in the
 * {@code schema_version} table, so a migration is applied fully or not at all. Statements run one by one
 * (one SQL statement per list element); statements that SQLite ignores inside a transaction (such as
 * {@code PRAGMA foreign_keys} or {@code journal_mode}) do not belong here.
 *
 * @param version schema version this step produces, {@code >= 1}; a store's list is 1, 2, 3, … in order
 * @param description short human text, shown in errors and logs
 * @param statements SQL statements, at least one
 */
public record Migration(int version, String description, List<String> statements) {
    public Migration {
        if (version < 1) {
            throw new IllegalArgumentException("migration version must be >= 1, got " + version);
        }
        Objects.requireNonNull(description, "description");
        if (description.isBlank()) {
            throw new IllegalArgumentException("migration " + version + " has a blank description");
        }
        statements = List.copyOf(statements);
        if (statements.isEmpty()) {
            throw new IllegalArgumentException("migration " + version + " has no statements");
        }
        for (String s : statements) {
            if (s.isBlank()) {
                throw new IllegalArgumentException("migration " + version + " has a blank statement");
            }
        }
    }

    /** A migration from statements given inline. */
    public static Migration of(int version, String description, String... statements) {
        return new Migration(version, description, List.of(statements));
    }
}
