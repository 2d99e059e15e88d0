-- Replication: blob references on changes, what this site received from below, and the
-- bookkeeping of both ends of each link.

-- Space-separated SHA-256 hashes of the blobs a change refers to; they go upstream first.
ALTER TABLE changes ADD COLUMN blobs TEXT NOT NULL DEFAULT '';

-- Sites below this receiver: children that connect directly and, relayed through them,
-- their own children. `via` is the child whose connection delivers the site's changes.
CREATE TABLE repl_sites (
    site_id        TEXT    PRIMARY KEY,
    tier           TEXT    NOT NULL,
    parent         TEXT    NOT NULL,
    via            TEXT    NOT NULL,
    cert_pem       TEXT    NOT NULL,
    last_seq       INTEGER NOT NULL DEFAULT 0,
    last_change_at TEXT,
    last_contact   TEXT,
    -- The site's own change-log high-water seq as last reported, for lag.
    reported_seq   INTEGER NOT NULL DEFAULT 0,
    registered_at  TEXT    NOT NULL
) STRICT;

-- Every change received, by origin, exactly once: relayed upstream by a county, kept as the
-- record of what arrived at the province.
CREATE TABLE received_changes (
    origin_site TEXT    NOT NULL REFERENCES repl_sites(site_id),
    seq         INTEGER NOT NULL,
    entity      TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    op          TEXT    NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    payload     TEXT    NOT NULL,
    at          TEXT    NOT NULL,
    blobs       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (origin_site, seq)
) STRICT, WITHOUT ROWID;

-- Each origin's current rows, kept apart by origin: the aggregated read view across sites.
CREATE TABLE replica_rows (
    origin_site TEXT    NOT NULL,
    entity      TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    at          TEXT    NOT NULL,
    PRIMARY KEY (origin_site, entity, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX replica_rows_entity ON replica_rows(entity, origin_site);

-- Ranges of an origin's seqs that will never arrive because the origin lost them (a restore
-- from an older backup while the link was down); declared by the sender, never guessed.
CREATE TABLE repl_gaps (
    origin_site TEXT    NOT NULL,
    from_seq    INTEGER NOT NULL,
    to_seq      INTEGER NOT NULL,
    noted_at    TEXT    NOT NULL,
    PRIMARY KEY (origin_site, from_seq)
) STRICT;

-- The sending side: the upstream's acknowledged seq per origin and the link's health.
CREATE TABLE repl_upstream (
    origin_site TEXT    PRIMARY KEY,
    acked_seq   INTEGER NOT NULL
) STRICT;
