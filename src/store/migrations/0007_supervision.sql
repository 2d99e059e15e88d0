-- Electronic supervision (电子监察): cards, reminders, complaints, evaluations.
-- Cases are read only through approval's view `approval_case_facts`; nothing here refers to
-- approval's tables, so the case is named by its id and receipt as the view gives them.
-- Dates (YYYY-MM-DD) are Beijing calendar dates, timestamps are UTC.

-- Yellow and red cards (黄牌、红牌). One card of each colour per case at most: the sweep inserts
-- with that key, so running it twice, or again after a restart, issues nothing twice.
CREATE TABLE supervision_cards (
    id              INTEGER PRIMARY KEY,
    case_id         INTEGER NOT NULL,
    receipt         TEXT    NOT NULL,
    colour          TEXT    NOT NULL CHECK (colour IN ('yellow', 'red')),
    department_id   INTEGER NOT NULL,
    -- The case's assignee when the card was issued (NULL while it waited for the applicant).
    handler_id      INTEGER,
    -- The case's promise date the card was measured against.
    case_due_on     TEXT    NOT NULL,
    -- The working day the card fell due: what it is dated, also when issued late after downtime.
    due_on          TEXT    NOT NULL,
    issued_at       TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('issued', 'acknowledged', 'resolved')),
    -- 监察建议书 and the department's feedback on it.
    advice          TEXT    NOT NULL DEFAULT '',
    advice_by       INTEGER,
    advice_at       TEXT,
    feedback        TEXT    NOT NULL DEFAULT '',
    feedback_by     INTEGER,
    feedback_at     TEXT,
    acknowledged_by INTEGER,
    acknowledged_at TEXT,
    resolved_by     INTEGER,
    resolved_at     TEXT,
    UNIQUE (case_id, colour)
) STRICT;
CREATE INDEX supervision_cards_due ON supervision_cards(due_on);
CREATE INDEX supervision_cards_open ON supervision_cards(state) WHERE state <> 'resolved';

-- Where the card sweep stands: the last Beijing day it completed.
CREATE TABLE supervision_sweeps (
    name       TEXT PRIMARY KEY,
    swept_on   TEXT NOT NULL,
    swept_at   TEXT NOT NULL
) STRICT;

-- 催办: automatic once per case and promise date when its light turns yellow, or by hand.
CREATE TABLE supervision_reminders (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL,
    receipt    TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('auto', 'manual')),
    handler_id INTEGER,
    case_due_on TEXT   NOT NULL,
    message    TEXT    NOT NULL,
    by_id      INTEGER,
    at         TEXT    NOT NULL,
    seen_at    TEXT
) STRICT;
CREATE UNIQUE INDEX supervision_reminders_auto ON supervision_reminders(case_id, case_due_on)
    WHERE kind = 'auto';
CREATE INDEX supervision_reminders_handler ON supervision_reminders(handler_id) WHERE seen_at IS NULL;

-- Complaints (投诉) from the portal. The query code is stored only as a SHA-256.
CREATE TABLE supervision_complaints (
    id           INTEGER PRIMARY KEY,
    -- TS<YYYYMMDD>-<site id>-NNNN
    number       TEXT    NOT NULL UNIQUE,
    code_hash    TEXT    NOT NULL,
    category     TEXT    NOT NULL,
    target       TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    phone        TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    receipt      TEXT,
    -- The department of the case named by `receipt`, when there is one.
    department_id INTEGER,
    state        TEXT    NOT NULL CHECK (state IN ('received', 'assigned', 'replied', 'closed')),
    assignee_id  INTEGER,
    reply        TEXT    NOT NULL DEFAULT '',
    -- Set on closing: whether the complaint was found justified (查实), and whom it concerned.
    substantiated INTEGER CHECK (substantiated IN (0, 1)),
    subject_id   INTEGER,
    submitted_at TEXT    NOT NULL,
    submitted_on TEXT    NOT NULL,
    assigned_at  TEXT,
    replied_at   TEXT,
    closed_at    TEXT
) STRICT;
CREATE INDEX supervision_complaints_open ON supervision_complaints(submitted_at) WHERE state <> 'closed';

CREATE TABLE supervision_complaint_numbers (
    day  TEXT    PRIMARY KEY,
    last INTEGER NOT NULL
) STRICT;

-- 一事一评: one evaluation per case; levels 1 非常满意 … 5 非常不满意.
CREATE TABLE supervision_evaluations (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL UNIQUE,
    receipt       TEXT    NOT NULL,
    department_id INTEGER NOT NULL,
    clerk_id      INTEGER NOT NULL,
    item_id       INTEGER NOT NULL,
    level         INTEGER NOT NULL CHECK (level BETWEEN 1 AND 5),
    reason        TEXT    NOT NULL DEFAULT '',
    at            TEXT    NOT NULL,
    on_day        TEXT    NOT NULL,
    -- The GB/T 39734 loop for 不满意 / 非常不满意; 'none' for the others.
    loop_state    TEXT    NOT NULL CHECK (loop_state IN (
                      'none', 'open', 'contacted', 'rectified', 'appealed', 'reviewed', 'closed')),
    rectify_due_on TEXT,
    CHECK ((level >= 4) = (loop_state <> 'none'))
) STRICT;
CREATE INDEX supervision_evaluations_day ON supervision_evaluations(on_day);

-- Each step of the loop: who did what, when, with what note.
CREATE TABLE supervision_evaluation_steps (
    id            INTEGER PRIMARY KEY,
    evaluation_id INTEGER NOT NULL REFERENCES supervision_evaluations(id),
    action        TEXT    NOT NULL CHECK (action IN ('contact', 'rectify', 'appeal', 'review', 'close')),
    note          TEXT    NOT NULL,
    by_id         INTEGER,
    at            TEXT    NOT NULL
) STRICT;
CREATE INDEX supervision_evaluation_steps_eval ON supervision_evaluation_steps(evaluation_id, id);
