-- Administrative approval (行政审批): the item catalogue, cases and their trace, joint sub-cases,
-- clock pauses, fees, users' common opinions, and the intake queue of online applications.
-- Money is integer fen; dates (YYYY-MM-DD) are Beijing calendar dates, timestamps are UTC.

-- Staff are told of their to-do by SMS: the mobile number, '' when the user has none (then no
-- SMS is sent). Set with auth::set_phone.
ALTER TABLE users ADD COLUMN phone TEXT NOT NULL DEFAULT '';

CREATE TABLE approval_items (
    id             INTEGER PRIMARY KEY,
    code           TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    short_name     TEXT    NOT NULL,
    -- 即办件, 承诺件, 联办件
    kind           TEXT    NOT NULL CHECK (kind IN ('immediate', 'promised', 'joint')),
    department_id  INTEGER NOT NULL REFERENCES departments(id),
    promised_days  INTEGER NOT NULL CHECK (promised_days >= 0),
    statutory_days INTEGER NOT NULL CHECK (statutory_days >= promised_days),
    -- Expert review stops the promise clock while it runs (行政许可法 Art. 45).
    expert_review  INTEGER NOT NULL DEFAULT 0 CHECK (expert_review IN (0, 1)),
    -- Free text for the service guide (办事指南): conditions, process, where, contact.
    conditions     TEXT    NOT NULL DEFAULT '',
    process        TEXT    NOT NULL DEFAULT '',
    location       TEXT    NOT NULL DEFAULT '',
    contact_phone  TEXT    NOT NULL DEFAULT '',
    -- May be applied for on the portal (网上申报).
    online         INTEGER NOT NULL DEFAULT 1 CHECK (online IN (0, 1)),
    active         INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    CHECK (kind <> 'immediate' OR promised_days = 0)
) STRICT;

CREATE TABLE approval_item_materials (
    item_id      INTEGER NOT NULL REFERENCES approval_items(id),
    position     INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    required     INTEGER NOT NULL CHECK (required IN (0, 1)),
    -- Blank form and filled example, as blobs (SHA-256) with their download names.
    blank_hash   TEXT,
    blank_name   TEXT,
    example_hash TEXT,
    example_name TEXT,
    PRIMARY KEY (item_id, position)
) STRICT;

-- Policy basis (设定依据): a law or regulation, its article, optionally the document itself.
CREATE TABLE approval_item_basis (
    item_id  INTEGER NOT NULL REFERENCES approval_items(id),
    position INTEGER NOT NULL,
    name     TEXT    NOT NULL,
    article  TEXT    NOT NULL DEFAULT '',
    doc_hash TEXT,
    doc_name TEXT,
    PRIMARY KEY (item_id, position)
) STRICT;

CREATE TABLE approval_item_fees (
    item_id        INTEGER NOT NULL REFERENCES approval_items(id),
    position       INTEGER NOT NULL,
    name           TEXT    NOT NULL,
    unit_price_fen INTEGER NOT NULL CHECK (unit_price_fen >= 0),
    unit           TEXT    NOT NULL,
    PRIMARY KEY (item_id, position)
) STRICT;

-- Joint items (联办件): the auxiliary departments and the working days each has.
CREATE TABLE approval_item_joint (
    item_id       INTEGER NOT NULL REFERENCES approval_items(id),
    department_id INTEGER NOT NULL REFERENCES departments(id),
    days          INTEGER NOT NULL CHECK (days > 0),
    PRIMARY KEY (item_id, department_id)
) STRICT;

-- Who may act on which step of an item (事项 ↔ 人员).
CREATE TABLE approval_item_handlers (
    item_id INTEGER NOT NULL REFERENCES approval_items(id),
    step    TEXT    NOT NULL CHECK (step IN ('accept', 'undertake', 'review', 'approve')),
    user_id INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (item_id, step, user_id)
) STRICT;

-- The last receipt number handed out per Beijing day; bumped in the case's own transaction, so
-- numbers are gap-free: a rolled-back acceptance gives its number back.
CREATE TABLE approval_receipts (
    day  TEXT    PRIMARY KEY,
    last INTEGER NOT NULL
) STRICT;

CREATE TABLE approval_cases (
    id               INTEGER PRIMARY KEY,
    -- YYYYMMDD-<site id>-NNNNNN
    receipt          TEXT    NOT NULL UNIQUE,
    item_id          INTEGER NOT NULL REFERENCES approval_items(id),
    -- Copied from the item at acceptance: a later catalogue edit does not move a running clock.
    kind             TEXT    NOT NULL CHECK (kind IN ('immediate', 'promised', 'joint')),
    department_id    INTEGER NOT NULL REFERENCES departments(id),
    promised_days    INTEGER NOT NULL,
    statutory_days   INTEGER NOT NULL,
    applicant_kind   TEXT    NOT NULL CHECK (applicant_kind IN ('person', 'org')),
    applicant_name   TEXT    NOT NULL,
    applicant_id_no  TEXT    NOT NULL,
    applicant_phone  TEXT    NOT NULL,
    channel          TEXT    NOT NULL CHECK (channel IN ('window', 'online')),
    state            TEXT    NOT NULL CHECK (state IN (
                         'accepted', 'undertaken', 'reviewed', 'approved', 'completed',
                         'not_accepted', 'supplement', 'denied', 'withdrawn')),
    clerk_id         INTEGER NOT NULL REFERENCES users(id),
    -- Who must act next (NULL once closed, or while waiting for the applicant).
    assignee_id      INTEGER REFERENCES users(id),
    accepted_at      TEXT    NOT NULL,
    accepted_on      TEXT    NOT NULL,
    -- The promise and statutory due dates, recomputed whenever a pause ends.
    due_on           TEXT    NOT NULL,
    statutory_due_on TEXT    NOT NULL,
    -- A day on the way lies in a year whose holiday notice is not loaded yet.
    due_provisional  INTEGER NOT NULL DEFAULT 0 CHECK (due_provisional IN (0, 1)),
    fee_total_fen    INTEGER NOT NULL DEFAULT 0 CHECK (fee_total_fen >= 0),
    closed_at        TEXT,
    closed_on        TEXT,
    -- For closed cases: working days used and saved against the promise (pauses not counted).
    used_days        INTEGER,
    saved_days       INTEGER,
    -- Bumped by every transition: an action names the version it saw, a stale one is refused.
    version          INTEGER NOT NULL DEFAULT 1,
    updated_at       TEXT    NOT NULL
) STRICT;
CREATE INDEX approval_cases_state ON approval_cases(state, due_on);
CREATE INDEX approval_cases_assignee ON approval_cases(assignee_id) WHERE assignee_id IS NOT NULL;
CREATE INDEX approval_cases_accepted ON approval_cases(accepted_on);
CREATE INDEX approval_cases_department ON approval_cases(department_id, accepted_on);

CREATE TABLE approval_case_materials (
    case_id   INTEGER NOT NULL REFERENCES approval_cases(id),
    position  INTEGER NOT NULL,
    name      TEXT    NOT NULL,
    required  INTEGER NOT NULL CHECK (required IN (0, 1)),
    provided  INTEGER NOT NULL DEFAULT 0 CHECK (provided IN (0, 1)),
    hash      TEXT,
    file_name TEXT,
    size      INTEGER,
    PRIMARY KEY (case_id, position)
) STRICT;

CREATE TABLE approval_case_fees (
    case_id        INTEGER NOT NULL REFERENCES approval_cases(id),
    position       INTEGER NOT NULL,
    name           TEXT    NOT NULL,
    unit_price_fen INTEGER NOT NULL,
    unit           TEXT    NOT NULL,
    -- A decimal as text (e.g. "2.5" 吨): never a float.
    quantity       TEXT    NOT NULL,
    amount_fen     INTEGER NOT NULL CHECK (amount_fen >= 0),
    PRIMARY KEY (case_id, position)
) STRICT;

-- The trace (流程跟踪): every transition, who, when, the opinion.
CREATE TABLE approval_steps (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES approval_cases(id),
    subcase_id INTEGER REFERENCES approval_subcases(id),
    action     TEXT    NOT NULL,
    from_state TEXT    NOT NULL,
    to_state   TEXT    NOT NULL,
    actor_id   INTEGER REFERENCES users(id),
    at         TEXT    NOT NULL,
    opinion    TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX approval_steps_case ON approval_steps(case_id, id);

-- Intervals the clock does not count: 补正 (supplement) and the Art. 45 periods.
CREATE TABLE approval_pauses (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES approval_cases(id),
    kind       TEXT    NOT NULL CHECK (kind IN ('supplement', 'hearing', 'testing', 'inspection', 'expert_review')),
    reason     TEXT    NOT NULL DEFAULT '',
    from_on    TEXT    NOT NULL,
    -- NULL while the pause runs.
    to_on      TEXT,
    started_at TEXT    NOT NULL,
    ended_at   TEXT
) STRICT;
CREATE INDEX approval_pauses_case ON approval_pauses(case_id);
CREATE UNIQUE INDEX approval_pauses_open ON approval_pauses(case_id) WHERE to_on IS NULL;

-- Joint approval (联办): one sub-case per auxiliary department, worked in parallel.
CREATE TABLE approval_subcases (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES approval_cases(id),
    department_id INTEGER NOT NULL REFERENCES departments(id),
    state         TEXT    NOT NULL CHECK (state IN ('open', 'done')),
    assignee_id   INTEGER REFERENCES users(id),
    due_on        TEXT    NOT NULL,
    opinion       TEXT    NOT NULL DEFAULT '',
    done_at       TEXT,
    done_on       TEXT,
    UNIQUE (case_id, department_id)
) STRICT;

-- 常用意见: a user's saved opinions.
CREATE TABLE approval_opinions (
    id      INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    text    TEXT    NOT NULL,
    UNIQUE (user_id, text)
) STRICT;

-- Online applications (网上申报) waiting for a window clerk's pre-review (预审). The query code
-- is stored only as a SHA-256; the applicant holds the code.
CREATE TABLE approval_intake (
    id              INTEGER PRIMARY KEY,
    -- WS<YYYYMMDD>-<site id>-NNNNNN: the application number the applicant quotes.
    number          TEXT    NOT NULL UNIQUE,
    code_hash       TEXT    NOT NULL,
    item_id         INTEGER NOT NULL REFERENCES approval_items(id),
    applicant_kind  TEXT    NOT NULL CHECK (applicant_kind IN ('person', 'org')),
    applicant_name  TEXT    NOT NULL,
    applicant_id_no TEXT    NOT NULL,
    applicant_phone TEXT    NOT NULL,
    description     TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'accepted', 'returned')),
    reason          TEXT    NOT NULL DEFAULT '',
    case_id         INTEGER REFERENCES approval_cases(id),
    submitted_at    TEXT    NOT NULL,
    decided_at      TEXT,
    decided_by      INTEGER REFERENCES users(id)
) STRICT;
CREATE INDEX approval_intake_pending ON approval_intake(submitted_at) WHERE state = 'pending';

CREATE TABLE approval_intake_numbers (
    day  TEXT    PRIMARY KEY,
    last INTEGER NOT NULL
) STRICT;

CREATE TABLE approval_intake_materials (
    intake_id    INTEGER NOT NULL REFERENCES approval_intake(id),
    position     INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    hash         TEXT    NOT NULL,
    file_name    TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    PRIMARY KEY (intake_id, position)
) STRICT;

-- The read contract approval offers other parts (supervision's lights, cards and statistics):
-- one row per case with the facts they count. Other parts read this view, never the tables.
CREATE VIEW approval_case_facts AS
SELECT c.id               AS case_id,
       c.receipt          AS receipt,
       c.item_id          AS item_id,
       i.code             AS item_code,
       i.short_name       AS item_name,
       c.kind             AS kind,
       c.department_id    AS department_id,
       c.applicant_name   AS applicant_name,
       c.applicant_kind   AS applicant_kind,
       c.applicant_phone  AS applicant_phone,
       c.channel          AS channel,
       c.clerk_id         AS clerk_id,
       c.assignee_id      AS assignee_id,
       c.state            AS state,
       c.state IN ('completed', 'not_accepted', 'denied', 'withdrawn') AS closed,
       c.accepted_at      AS accepted_at,
       c.accepted_on      AS accepted_on,
       c.promised_days    AS promised_days,
       c.due_on           AS due_on,
       c.statutory_due_on AS statutory_due_on,
       c.due_provisional  AS due_provisional,
       c.closed_on        AS closed_on,
       c.used_days        AS used_days,
       c.saved_days       AS saved_days,
       EXISTS (SELECT 1 FROM approval_pauses p WHERE p.case_id = c.id AND p.to_on IS NULL) AS paused
  FROM approval_cases c JOIN approval_items i ON i.id = c.item_id;
