-- Approval: the working-day calendar (official yearly notices and their special days) and the
-- SMS outbox.

-- Every version of a year's holiday notice ever imported; exactly one per year is current.
-- Years without a current row here use the schedule shipped in the binary.
CREATE TABLE calendar_notices (
    id          INTEGER PRIMARY KEY,
    year        INTEGER NOT NULL CHECK (year BETWEEN 1900 AND 9999),
    version     TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    effective   TEXT    NOT NULL,
    imported_at TEXT    NOT NULL,
    imported_by TEXT    NOT NULL,
    current     INTEGER NOT NULL DEFAULT 1 CHECK (current IN (0, 1)),
    UNIQUE (year, version)
) STRICT;
CREATE UNIQUE INDEX calendar_notices_current ON calendar_notices(year) WHERE current = 1;

-- The days a notice makes special: a weekday off ('holiday') or a weekend worked ('workday').
CREATE TABLE calendar_days (
    notice_id INTEGER NOT NULL REFERENCES calendar_notices(id),
    date      TEXT    NOT NULL,
    kind      TEXT    NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name      TEXT    NOT NULL,
    PRIMARY KEY (notice_id, date)
) STRICT;

-- Site-local and never replicated: the upstream must never send a township's messages.
CREATE TABLE sms_outbox (
    id            INTEGER PRIMARY KEY,
    phone         TEXT    NOT NULL,
    text          TEXT    NOT NULL,
    reference     TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_at       TEXT    NOT NULL,
    last_error    TEXT    NOT NULL DEFAULT '',
    created_at    TEXT    NOT NULL,
    sent_at       TEXT
) STRICT;
CREATE INDEX sms_outbox_pending ON sms_outbox(next_at) WHERE status = 'pending';
