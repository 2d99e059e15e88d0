-- Office automation (办公自动化): groups, documents and their circulation routes, the read-only
-- archive with its full-text index, mail, meetings, notices, contacts, duty roster, tasks.

CREATE TABLE office_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
-- 50 MiB per mailbox unless an administrator sets another default or a per-user quota.
INSERT INTO office_settings(key, value) VALUES ('mail_quota_bytes', '52428800');

-- Named sets of users: a route step or a mail can name a group instead of a person.
CREATE TABLE office_groups (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
) STRICT;
CREATE TABLE office_group_members (
    group_id INTEGER NOT NULL REFERENCES office_groups(id),
    user_id  INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (group_id, user_id)
) STRICT;

-- Uploaded attachments: the bytes are a blob (by SHA-256); this row says who may refer to it.
CREATE TABLE office_uploads (
    id          INTEGER PRIMARY KEY,
    hash        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    size        INTEGER NOT NULL CHECK (size >= 0),
    uploaded_by INTEGER NOT NULL REFERENCES users(id),
    at          TEXT    NOT NULL
) STRICT;

CREATE TABLE doc_types (
    id         INTEGER PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    prefix     TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE doc_type_steps (
    type_id  INTEGER NOT NULL REFERENCES doc_types(id),
    position INTEGER NOT NULL,
    kind     TEXT    NOT NULL CHECK (kind IN ('拟办', '批办', '承办', '传阅', '办结')),
    user_id  INTEGER REFERENCES users(id),
    group_id INTEGER REFERENCES office_groups(id),
    mode     TEXT    NOT NULL CHECK (mode IN ('all', 'any')),
    PRIMARY KEY (type_id, position),
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
) STRICT;

-- The last number handed out per type and year; bumped in the same transaction as the document.
CREATE TABLE doc_numbers (
    type_id INTEGER NOT NULL REFERENCES doc_types(id),
    year    INTEGER NOT NULL,
    last    INTEGER NOT NULL,
    PRIMARY KEY (type_id, year)
) STRICT;

CREATE TABLE documents (
    id              INTEGER PRIMARY KEY,
    direction       TEXT    NOT NULL CHECK (direction IN ('incoming', 'outgoing')),
    type_id         INTEGER NOT NULL REFERENCES doc_types(id),
    year            INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    number          TEXT    NOT NULL UNIQUE,
    title           TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    source_unit     TEXT,
    original_number TEXT,
    received_on     TEXT,
    urgency         TEXT    NOT NULL CHECK (urgency IN ('普通', '加急', '特急')),
    security        TEXT    NOT NULL CHECK (security IN ('公开', '内部')),
    status          TEXT    NOT NULL CHECK (status IN ('circulating', 'done', 'archived')),
    current_step    INTEGER NOT NULL,
    created_by      INTEGER NOT NULL REFERENCES users(id),
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    archive_year    INTEGER,
    retention       TEXT CHECK (retention IN ('永久', '30年', '10年')),
    archived_at     TEXT,
    UNIQUE (type_id, year, seq)
) STRICT;
CREATE INDEX documents_status ON documents(status);

-- The route of one document: its type's steps with groups expanded to the people at that time.
CREATE TABLE doc_steps (
    doc_id   INTEGER NOT NULL REFERENCES documents(id),
    position INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    mode     TEXT    NOT NULL CHECK (mode IN ('all', 'any')),
    label    TEXT    NOT NULL,
    done_at  TEXT,
    PRIMARY KEY (doc_id, position)
) STRICT;
CREATE TABLE doc_signers (
    doc_id    INTEGER NOT NULL,
    position  INTEGER NOT NULL,
    user_id   INTEGER NOT NULL REFERENCES users(id),
    signed_at TEXT,
    opinion   TEXT,
    PRIMARY KEY (doc_id, position, user_id),
    FOREIGN KEY (doc_id, position) REFERENCES doc_steps(doc_id, position)
) STRICT;
CREATE INDEX doc_signers_user ON doc_signers(user_id, signed_at);

CREATE TABLE doc_comments (
    id      INTEGER PRIMARY KEY,
    doc_id  INTEGER NOT NULL REFERENCES documents(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    body    TEXT    NOT NULL,
    at      TEXT    NOT NULL
) STRICT;
CREATE TABLE doc_reads (
    doc_id  INTEGER NOT NULL REFERENCES documents(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    at      TEXT    NOT NULL,
    PRIMARY KEY (doc_id, user_id)
) STRICT;
CREATE TABLE doc_urges (
    id      INTEGER PRIMARY KEY,
    doc_id  INTEGER NOT NULL REFERENCES documents(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    message TEXT    NOT NULL,
    at      TEXT    NOT NULL
) STRICT;
CREATE TABLE doc_attachments (
    doc_id INTEGER NOT NULL REFERENCES documents(id),
    hash   TEXT    NOT NULL,
    name   TEXT    NOT NULL,
    size   INTEGER NOT NULL,
    at     TEXT    NOT NULL,
    PRIMARY KEY (doc_id, hash)
) STRICT;

-- The archive is read-only: the domain code refuses every change, and these triggers refuse
-- it again at the database, so a future code path that forgets the check still cannot.
CREATE TRIGGER documents_archived_frozen BEFORE UPDATE ON documents
WHEN OLD.status = 'archived'
BEGIN SELECT RAISE(ABORT, 'archived document is read-only'); END;
CREATE TRIGGER documents_archived_no_delete BEFORE DELETE ON documents
WHEN OLD.status = 'archived'
BEGIN SELECT RAISE(ABORT, 'archived document is read-only'); END;
CREATE TRIGGER doc_steps_archived BEFORE UPDATE ON doc_steps
WHEN (SELECT status FROM documents WHERE id = OLD.doc_id) = 'archived'
BEGIN SELECT RAISE(ABORT, 'archived document is read-only'); END;
CREATE TRIGGER doc_signers_archived BEFORE UPDATE ON doc_signers
WHEN (SELECT status FROM documents WHERE id = OLD.doc_id) = 'archived'
BEGIN SELECT RAISE(ABORT, 'archived document is read-only'); END;
CREATE TRIGGER doc_comments_archived BEFORE INSERT ON doc_comments
WHEN (SELECT status FROM documents WHERE id = NEW.doc_id) = 'archived'
BEGIN SELECT RAISE(ABORT, 'archived document is read-only'); END;
CREATE TRIGGER doc_urges_archived BEFORE INSERT ON doc_urges
WHEN (SELECT status FROM documents WHERE id = NEW.doc_id) = 'archived'
BEGIN SELECT RAISE(ABORT, 'archived document is read-only'); END;
CREATE TRIGGER doc_attachments_archived BEFORE INSERT ON doc_attachments
WHEN (SELECT status FROM documents WHERE id = NEW.doc_id) = 'archived'
BEGIN SELECT RAISE(ABORT, 'archived document is read-only'); END;

-- Full-text index of the archive. trigram matches any 3+ character substring, which suits
-- Chinese (no word boundaries); shorter queries fall back to a scan (see office::archive).
CREATE VIRTUAL TABLE archive_fts USING fts5(number, title, body, source_unit, tokenize = 'trigram');

CREATE TABLE mail_messages (
    id         INTEGER PRIMARY KEY,
    sender_id  INTEGER NOT NULL REFERENCES users(id),
    subject    TEXT    NOT NULL,
    body_html  TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    created_at TEXT    NOT NULL,
    sent_at    TEXT
) STRICT;
CREATE TABLE mail_targets (
    message_id INTEGER NOT NULL REFERENCES mail_messages(id),
    kind       TEXT    NOT NULL CHECK (kind IN ('user', 'group', 'department')),
    target_id  INTEGER NOT NULL,
    PRIMARY KEY (message_id, kind, target_id)
) STRICT;
CREATE TABLE mail_attachments (
    message_id INTEGER NOT NULL REFERENCES mail_messages(id),
    hash       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    PRIMARY KEY (message_id, hash)
) STRICT;
-- One row per copy of a message in someone's mailbox; the copy counts against that quota.
CREATE TABLE mail_box (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    message_id INTEGER NOT NULL REFERENCES mail_messages(id),
    folder     TEXT    NOT NULL CHECK (folder IN ('inbox', 'sent', 'drafts', 'trash')),
    from_folder TEXT,
    read_at    TEXT,
    UNIQUE (user_id, message_id, folder)
) STRICT;
CREATE INDEX mail_box_user ON mail_box(user_id, folder);
CREATE TABLE mail_quotas (
    user_id INTEGER PRIMARY KEY REFERENCES users(id),
    bytes   INTEGER NOT NULL CHECK (bytes >= 0)
) STRICT;

CREATE TABLE rooms (
    id       INTEGER PRIMARY KEY,
    name     TEXT    NOT NULL UNIQUE,
    location TEXT    NOT NULL,
    capacity INTEGER NOT NULL CHECK (capacity > 0)
) STRICT;
CREATE TABLE meetings (
    id           INTEGER PRIMARY KEY,
    room_id      INTEGER NOT NULL REFERENCES rooms(id),
    title        TEXT    NOT NULL,
    starts_at    TEXT    NOT NULL,
    ends_at      TEXT    NOT NULL,
    organizer_id INTEGER NOT NULL REFERENCES users(id),
    minutes_hash TEXT,
    minutes_name TEXT,
    created_at   TEXT    NOT NULL,
    CHECK (starts_at < ends_at)
) STRICT;
CREATE INDEX meetings_room ON meetings(room_id, starts_at);
CREATE TABLE meeting_participants (
    meeting_id INTEGER NOT NULL REFERENCES meetings(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    seen_at    TEXT,
    PRIMARY KEY (meeting_id, user_id)
) STRICT;

CREATE TABLE notice_categories (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
) STRICT;
CREATE TABLE notices (
    id           INTEGER PRIMARY KEY,
    category_id  INTEGER NOT NULL REFERENCES notice_categories(id),
    title        TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    author_id    INTEGER NOT NULL REFERENCES users(id),
    published_at TEXT    NOT NULL
) STRICT;
CREATE TABLE notice_reads (
    notice_id INTEGER NOT NULL REFERENCES notices(id),
    user_id   INTEGER NOT NULL REFERENCES users(id),
    at        TEXT    NOT NULL,
    PRIMARY KEY (notice_id, user_id)
) STRICT;

CREATE TABLE contacts (
    id            INTEGER PRIMARY KEY,
    department_id INTEGER NOT NULL REFERENCES departments(id),
    name          TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    office_phone  TEXT    NOT NULL,
    mobile        TEXT    NOT NULL,
    room          TEXT    NOT NULL
) STRICT;

CREATE TABLE duty_roster (
    day     TEXT    NOT NULL,
    shift   TEXT    NOT NULL CHECK (shift IN ('白班', '夜班')),
    user_id INTEGER NOT NULL REFERENCES users(id),
    phone   TEXT    NOT NULL,
    PRIMARY KEY (day, shift, user_id)
) STRICT;

CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY,
    title       TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    assignee_id INTEGER NOT NULL REFERENCES users(id),
    created_by  INTEGER NOT NULL REFERENCES users(id),
    due_on      TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('open', 'done')),
    created_at  TEXT    NOT NULL
) STRICT;
CREATE TABLE task_progress (
    id      INTEGER PRIMARY KEY,
    task_id INTEGER NOT NULL REFERENCES tasks(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    percent INTEGER NOT NULL CHECK (percent BETWEEN 0 AND 100),
    note    TEXT    NOT NULL,
    at      TEXT    NOT NULL
) STRICT;
