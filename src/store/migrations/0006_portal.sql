-- Public portal (政务外网门户): columns, articles and their review, search, consultations, letters.

-- 栏目. `kind` decides how often the self-check expects new content: news every 2 weeks,
-- notices and policies every 6 months, other columns only that they are not blank.
CREATE TABLE portal_columns (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    department_id INTEGER NOT NULL REFERENCES departments(id),
    kind TEXT NOT NULL CHECK (kind IN ('news', 'notice', 'policy', 'other')),
    sensitive INTEGER NOT NULL DEFAULT 0 CHECK (sensitive IN (0, 1)),
    position INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

-- The working copy of an article, moving through the review chain:
-- draft → office (办公室初审, sensitive columns only) → chief (主编审核) → general (总编审批) → published.
-- Nothing here is public; the public reads portal_versions only.
CREATE TABLE portal_articles (
    id INTEGER PRIMARY KEY,
    column_id INTEGER NOT NULL REFERENCES portal_columns(id),
    state TEXT NOT NULL CHECK (state IN ('draft', 'office', 'chief', 'general', 'published')),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    source TEXT NOT NULL,
    author TEXT NOT NULL,
    collected_on TEXT NOT NULL,
    collector TEXT NOT NULL,
    publish_at TEXT,
    return_reason TEXT,
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    office_by INTEGER REFERENCES users(id),
    chief_by INTEGER REFERENCES users(id),
    version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX portal_articles_state ON portal_articles(state, column_id);

CREATE TABLE portal_article_files (
    article_id INTEGER NOT NULL REFERENCES portal_articles(id),
    hash TEXT NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    PRIMARY KEY (article_id, hash)
);

-- Every published version, kept with who drafted and who signed it off at each level.
-- A version is public from `published_at` (the intended publish time, or the approval time)
-- until `superseded_at`, when a later approved version of the article takes its place.
CREATE TABLE portal_versions (
    id INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES portal_articles(id),
    version INTEGER NOT NULL,
    column_id INTEGER NOT NULL REFERENCES portal_columns(id),
    title TEXT NOT NULL,
    body_html TEXT NOT NULL,
    body_text TEXT NOT NULL,
    source TEXT NOT NULL,
    author TEXT NOT NULL,
    collected_on TEXT NOT NULL,
    collector TEXT NOT NULL,
    files TEXT NOT NULL,
    published_at TEXT NOT NULL,
    superseded_at TEXT,
    approved_at TEXT NOT NULL,
    drafted_by INTEGER NOT NULL REFERENCES users(id),
    office_by INTEGER REFERENCES users(id),
    chief_by INTEGER NOT NULL REFERENCES users(id),
    general_by INTEGER NOT NULL REFERENCES users(id),
    UNIQUE (article_id, version)
);
-- Covers a column's list (count and page, in order) and its newest publish time without touching
-- the rows, whose bodies would otherwise be read (overflow pages included) to reach superseded_at.
CREATE INDEX portal_versions_column
    ON portal_versions(column_id, published_at, id, superseded_at, article_id, title);
CREATE INDEX portal_versions_published ON portal_versions(published_at);

-- Full-text index of published versions (rowid = portal_versions.id); trigram finds any
-- substring of 3+ characters, shorter queries scan this table instead.
CREATE VIRTUAL TABLE portal_fts USING fts5(title, body, tokenize = 'trigram');

CREATE TABLE portal_banned_words (
    word TEXT PRIMARY KEY,
    added_by INTEGER NOT NULL REFERENCES users(id),
    added_at TEXT NOT NULL
);

-- 网上咨询. The query code is stored as its SHA-256 only.
CREATE TABLE portal_consultations (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    code_hash TEXT NOT NULL,
    department_id INTEGER NOT NULL REFERENCES departments(id),
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    subject TEXT NOT NULL,
    question TEXT NOT NULL,
    consent INTEGER NOT NULL CHECK (consent IN (0, 1)),
    asked_at TEXT NOT NULL,
    answer TEXT,
    answered_by INTEGER REFERENCES users(id),
    answered_at TEXT,
    faq INTEGER NOT NULL DEFAULT 0 CHECK (faq IN (0, 1))
);
CREATE INDEX portal_consultations_open ON portal_consultations(answered_at, asked_at);

-- 县长信箱.
CREATE TABLE portal_letters (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    code_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    consent INTEGER NOT NULL CHECK (consent IN (0, 1)),
    sent_at TEXT NOT NULL,
    reply TEXT,
    replied_by INTEGER REFERENCES users(id),
    replied_at TEXT,
    public INTEGER NOT NULL DEFAULT 0 CHECK (public IN (0, 1))
);
CREATE INDEX portal_letters_open ON portal_letters(replied_at, sent_at);
