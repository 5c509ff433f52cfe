import CoffreStorage
import Logging
import PostgresNIO

/// The schema, as numbered steps recorded in `coffre_schema`. Applying them is idempotent and safe when several
/// nodes start at once: each node takes a transaction-scoped advisory lock first, so one applies the missing steps
/// and the others then find them recorded.
enum Migrations {
    /// Version n is `steps[n - 1]`. Append only; never edit a released step.
    static let steps: [PostgresQuery] = [
        // `COLLATE "C"`: keys sort byte-wise whatever the database's locale, as the storage protocol requires.
        #"CREATE TABLE IF NOT EXISTS kv (k text COLLATE "C" PRIMARY KEY, v bytea NOT NULL)"#,
        // Point reads go through a hash index: its predicate locks fall on hash buckets, so transactions that create
        // neighbouring names (whose keys share a B-tree leaf page) no longer look like serialization conflicts to
        // each other. A low fill factor spreads keys over more bucket pages. Range scans keep using the primary key.
        "CREATE INDEX IF NOT EXISTS kv_k_hash ON kv USING hash (k) WITH (fillfactor = 10)",
        // An optimistic transaction's end (see `OptimisticTransaction`): in a serializable transaction, check that
        // every key read still holds what was read, apply the writes only then, and commit — inside the call, so that
        // a serialization failure found at commit is this statement's error. (An implicit transaction would commit
        // after the statement had already reported success.) The first COMMIT ends the call's own transaction, which
        // has the session's isolation.
        // One key per statement: the planner serves `k = $1` from the hash index (predicate locks on hash buckets),
        // where a join or an existence test may take the primary key's B-tree, whose page locks make neighbouring new
        // names conflict. Keys checked absent are inserted without ON CONFLICT, whose check reads that B-tree too (a
        // key created meanwhile fails the insert with 23505, which the client takes for a conflict).
        """
        CREATE OR REPLACE PROCEDURE coffre_apply(
            present_keys text[], present_values bytea[], absent_keys text[], put_keys text[], put_values bytea[],
            delete_keys text[], INOUT applied boolean DEFAULT NULL)
        LANGUAGE plpgsql AS $$
        DECLARE
            i integer;
            found_value bytea;
        BEGIN
            COMMIT;
            SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
            applied := true;
            FOR i IN 1 .. coalesce(array_length(present_keys, 1), 0) LOOP
                SELECT v INTO found_value FROM kv WHERE k = present_keys[i];
                IF found_value IS DISTINCT FROM present_values[i] THEN
                    applied := false;
                    EXIT;
                END IF;
            END LOOP;
            FOR i IN 1 .. coalesce(array_length(absent_keys, 1), 0) LOOP
                EXIT WHEN NOT applied;
                SELECT v INTO found_value FROM kv WHERE k = absent_keys[i];
                applied := NOT FOUND;
            END LOOP;
            IF applied THEN
                FOR i IN 1 .. coalesce(array_length(delete_keys, 1), 0) LOOP
                    DELETE FROM kv WHERE k = delete_keys[i];
                END LOOP;
                FOR i IN 1 .. coalesce(array_length(put_keys, 1), 0) LOOP
                    IF put_keys[i] = ANY(absent_keys) THEN
                        INSERT INTO kv (k, v) VALUES (put_keys[i], put_values[i]);
                    ELSIF put_keys[i] = ANY(present_keys) THEN
                        UPDATE kv SET v = put_values[i] WHERE k = put_keys[i];
                    ELSE
                        INSERT INTO kv (k, v) VALUES (put_keys[i], put_values[i]) ON CONFLICT (k) DO UPDATE SET v = excluded.v;
                    END IF;
                END LOOP;
            END IF;
            COMMIT;
        END
        $$
        """,
        // Several optimistic transactions' ends in one call and one commit (see `ApplyQueue`), which supersedes
        // `coffre_apply` (kept for nodes of the previous version during a rolling upgrade). Transaction t's entries are
        // those whose `*_tx` is t, in order; each is checked after the writes of those before it, and its writes are
        // applied only if its check passed, so the call behaves as the transactions run one after the other. Put modes:
        // 0 inserts a key checked absent, 1 updates a key checked present, 2 inserts or replaces a key not read.
        """
        CREATE OR REPLACE PROCEDURE coffre_apply_batch(
            transactions integer,
            present_tx integer[], present_keys text[], present_values bytea[],
            absent_tx integer[], absent_keys text[],
            put_tx integer[], put_keys text[], put_values bytea[], put_modes integer[],
            delete_tx integer[], delete_keys text[],
            INOUT applied boolean[] DEFAULT NULL)
        LANGUAGE plpgsql AS $$
        DECLARE
            t integer;
            p integer := 1;
            a integer := 1;
            w integer := 1;
            d integer := 1;
            ok boolean;
            found_value bytea;
        BEGIN
            COMMIT;
            SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
            applied := array_fill(false, ARRAY[transactions]);
            FOR t IN 1 .. transactions LOOP
                ok := true;
                WHILE p <= coalesce(array_length(present_tx, 1), 0) AND present_tx[p] = t LOOP
                    IF ok THEN
                        SELECT v INTO found_value FROM kv WHERE k = present_keys[p];
                        ok := found_value IS NOT DISTINCT FROM present_values[p];
                    END IF;
                    p := p + 1;
                END LOOP;
                WHILE a <= coalesce(array_length(absent_tx, 1), 0) AND absent_tx[a] = t LOOP
                    IF ok THEN
                        SELECT v INTO found_value FROM kv WHERE k = absent_keys[a];
                        ok := NOT FOUND;
                    END IF;
                    a := a + 1;
                END LOOP;
                WHILE d <= coalesce(array_length(delete_tx, 1), 0) AND delete_tx[d] = t LOOP
                    IF ok THEN
                        DELETE FROM kv WHERE k = delete_keys[d];
                    END IF;
                    d := d + 1;
                END LOOP;
                WHILE w <= coalesce(array_length(put_tx, 1), 0) AND put_tx[w] = t LOOP
                    IF ok THEN
                        CASE put_modes[w]
                        WHEN 0 THEN
                            INSERT INTO kv (k, v) VALUES (put_keys[w], put_values[w]);
                        WHEN 1 THEN
                            UPDATE kv SET v = put_values[w] WHERE k = put_keys[w];
                        ELSE
                            INSERT INTO kv (k, v) VALUES (put_keys[w], put_values[w]) ON CONFLICT (k) DO UPDATE SET v = excluded.v;
                        END CASE;
                    END IF;
                    w := w + 1;
                END LOOP;
                applied[t] := ok;
            END LOOP;
            COMMIT;
        END
        $$
        """,
        // Changes to the keys under `announcedPrefix` are announced on `changesChannel` at commit (see `ChangeFeed`):
        // the payload is the key. These are few and rarely written (vaults, principals, roles); data keys are not
        // announced, as NOTIFY serialises the commits of the transactions that use it.
        """
        CREATE OR REPLACE FUNCTION coffre_announce() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                PERFORM pg_notify('coffre_changes', OLD.k);
            ELSE
                PERFORM pg_notify('coffre_changes', NEW.k);
            END IF;
            RETURN NULL;
        END
        $$
        """,
        """
        CREATE TRIGGER coffre_announce_writes AFTER INSERT OR UPDATE ON kv
            FOR EACH ROW WHEN (starts_with(NEW.k, 'sys/')) EXECUTE FUNCTION coffre_announce()
        """,
        """
        CREATE TRIGGER coffre_announce_deletes AFTER DELETE ON kv
            FOR EACH ROW WHEN (starts_with(OLD.k, 'sys/')) EXECUTE FUNCTION coffre_announce()
        """,
    ]

    /// The keys whose changes are announced, and where (see the triggers above).
    static let announcedPrefix = "sys/"
    static let changesChannel = "coffre_changes"

    /// The advisory lock that serialises migrations ("Coffre" in ASCII); it is scoped to the database.
    static let lockKey: Int64 = 0x436f_6666_7265

    /// Applies the missing steps; returns the schema version found and the one left.
    static func apply(on connection: PostgresConnection, logger: Logger) async throws -> (found: Int, now: Int) {
        // READ COMMITTED: each statement after the lock sees what a node that held it before committed.
        try await connection.query("BEGIN ISOLATION LEVEL READ COMMITTED", logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS coffre_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                logger: logger)
            var found = 0
            for try await version in try await connection.query("SELECT coalesce(max(version), 0)::int8 FROM coffre_schema", logger: logger)
                .decode(Int64.self)
            {
                found = Int(version)
            }
            guard found <= steps.count else {
                throw PostgresFailure(
                    .final, .unavailable("the database schema is version \(found), newer than this Coffre knows (\(steps.count)): upgrade Coffre"))
            }
            for (index, step) in steps.enumerated() where index >= found {
                try await connection.query(step, logger: logger)
                try await connection.query("INSERT INTO coffre_schema (version) VALUES (\(Int64(index + 1)))", logger: logger)
            }
            try await connection.query("COMMIT", logger: logger)
            return (found, steps.count)
        } catch {
            await connection.rollback(logger: logger)
            throw error
        }
    }
}
