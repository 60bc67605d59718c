-- Todo items, each owned by the subject of the token that created it.
CREATE TABLE todos (
    id         BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner      TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    done       BOOLEAN NOT NULL DEFAULT FALSE,
    due        TEXT,
    created_at TEXT    NOT NULL DEFAULT (to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
);
CREATE INDEX todos_owner ON todos (owner, id);
