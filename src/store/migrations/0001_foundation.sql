-- Foundation schema: the change log, site metadata, departments, users, sessions, audit log.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Transactional outbox: one row per business write, in the same transaction.
CREATE TABLE changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    origin_site TEXT    NOT NULL,
    entity      TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    op          TEXT    NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    payload     TEXT    NOT NULL,
    at          TEXT    NOT NULL
) STRICT;

CREATE TABLE departments (
    id         INTEGER PRIMARY KEY,
    parent_id  INTEGER REFERENCES departments(id),
    name       TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('unit', 'office')),
    created_at TEXT    NOT NULL,
    UNIQUE (parent_id, name)
) STRICT;

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    TEXT    NOT NULL,
    password_set_at TEXT  NOT NULL
) STRICT;

CREATE TABLE user_roles (
    user_id       INTEGER NOT NULL REFERENCES users(id),
    role          TEXT    NOT NULL,
    department_id INTEGER NOT NULL REFERENCES departments(id),
    PRIMARY KEY (user_id, role, department_id)
) STRICT;

-- Only a hash of the session token is stored, so a copied database opens no sessions.
CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    csrf       TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    last_seen  TEXT    NOT NULL,
    client     TEXT    NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions(user_id);

-- Append-only and hash-chained: hash = SHA-256(prev_hash || canonical row content).
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    roles     TEXT NOT NULL,
    action    TEXT NOT NULL,
    object    TEXT NOT NULL,
    client    TEXT NOT NULL,
    outcome   TEXT NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed')),
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
) STRICT;
CREATE INDEX audit_at ON audit(at);
CREATE INDEX audit_actor ON audit(actor);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
