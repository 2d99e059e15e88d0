//! The aggregated read view across the sites below: each origin's current rows, as the latest
//! replicated change left them, kept apart by origin. Statistics across sites (the province's,
//! a county's over its townships) read here; a site's own data stays in its own tables.

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use super::ReplicationError;

/// Largest page of rows one call returns.
pub const MAX_LIMIT: u32 = 1000;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReplicaRow {
    pub origin_site: String,
    pub entity: String,
    pub key: String,
    /// The row as its origin last wrote it.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// The origin's seq of that write, and when it was made (UTC).
    pub seq: i64,
    pub at: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntityCount {
    pub origin_site: String,
    pub entity: String,
    pub rows: i64,
}

/// A page of one entity's rows, ordered by origin site then key; continue after the last row
/// with `after_origin` and `after_key`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RowQuery {
    /// Only this origin site.
    pub origin: Option<String>,
    pub after_origin: Option<String>,
    pub after_key: Option<String>,
    /// 1–1000, default 100.
    pub limit: Option<u32>,
}

/// How many rows of each entity every site below holds here.
pub fn counts(conn: &Connection) -> Result<Vec<EntityCount>, ReplicationError> {
    let mut stmt = conn.prepare_cached(
        "SELECT origin_site, entity, count(*) FROM replica_rows
         GROUP BY origin_site, entity ORDER BY origin_site, entity",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(EntityCount {
                origin_site: r.get(0)?,
                entity: r.get(1)?,
                rows: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn rows(
    conn: &Connection,
    entity: &str,
    q: &RowQuery,
) -> Result<Vec<ReplicaRow>, ReplicationError> {
    check_name("entity", entity)?;
    if let Some(o) = q.origin.as_deref().or(q.after_origin.as_deref()) {
        check_name("origin", o)?;
    }
    if q.after_key.as_deref().is_some_and(|k| k.len() > 200) {
        return Err(bad("after_key 过长（最多 200 字节）".into()));
    }
    if q.after_key.is_some() != q.after_origin.is_some() {
        return Err(bad("after_origin 和 after_key 要一起给出".into()));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(bad(format!("limit 须在 1 到 {MAX_LIMIT} 之间")));
    }
    let mut stmt = conn.prepare_cached(
        "SELECT origin_site, entity, key, payload, seq, at FROM replica_rows
         WHERE entity = ?1
           AND (?2 IS NULL OR origin_site = ?2)
           AND (?3 IS NULL OR (origin_site, key) > (?3, ?4))
         ORDER BY origin_site, key LIMIT ?5",
    )?;
    let rows = stmt
        .query_map(
            params![entity, q.origin, q.after_origin, q.after_key, limit],
            |r| {
                let payload: String = r.get(3)?;
                Ok(ReplicaRow {
                    origin_site: r.get(0)?,
                    entity: r.get(1)?,
                    key: r.get(2)?,
                    payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
                    seq: r.get(4)?,
                    at: r.get(5)?,
                })
            },
        )?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

fn check_name(what: &str, v: &str) -> Result<(), ReplicationError> {
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "{what} {v:?} 不合法：1–64 个小写字母、数字、下划线或连字符"
        )))
    }
}

fn bad(msg: String) -> ReplicationError {
    ReplicationError::Protocol(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::store::migrate::apply(&mut c).unwrap();
        for (o, k) in [("t1", "1"), ("t1", "2"), ("t2", "1"), ("t2", "3")] {
            c.execute(
                "INSERT INTO replica_rows(origin_site, entity, key, payload, seq, at)
                 VALUES (?1, 'case', ?2, ?3, 1, '2026-11-25T00:00:00.000Z')",
                params![o, k, format!("{{\"id\":{k}}}")],
            )
            .unwrap();
        }
        c.execute(
            "INSERT INTO replica_rows VALUES ('t1', 'user', '9', '{}', 2, '2026-11-25T00:00:00.000Z')",
            [],
        )
        .unwrap();
        c
    }

    fn q(origin: Option<&str>, after: Option<(&str, &str)>, limit: Option<u32>) -> RowQuery {
        RowQuery {
            origin: origin.map(Into::into),
            after_origin: after.map(|a| a.0.into()),
            after_key: after.map(|a| a.1.into()),
            limit,
        }
    }

    #[test]
    fn rows_of_all_sites_page_in_order_and_keep_origins_apart() {
        let c = db();
        let all = rows(&c, "case", &q(None, None, None)).unwrap();
        let keys: Vec<_> = all
            .iter()
            .map(|r| (r.origin_site.as_str(), r.key.as_str()))
            .collect();
        assert_eq!(keys, [("t1", "1"), ("t1", "2"), ("t2", "1"), ("t2", "3")]);
        assert_eq!(all[3].payload["id"], 3);
        let page = rows(&c, "case", &q(None, Some(("t1", "2")), Some(1))).unwrap();
        assert_eq!(
            (page[0].origin_site.as_str(), page[0].key.as_str()),
            ("t2", "1")
        );
        let t2 = rows(&c, "case", &q(Some("t2"), None, None)).unwrap();
        assert!(t2.iter().all(|r| r.origin_site == "t2") && t2.len() == 2);
        let counts = counts(&c).unwrap();
        let got: Vec<_> = counts
            .iter()
            .map(|c| (c.origin_site.as_str(), c.entity.as_str(), c.rows))
            .collect();
        assert_eq!(
            got,
            [("t1", "case", 2), ("t1", "user", 1), ("t2", "case", 2)]
        );
    }

    #[test]
    fn hostile_queries_are_refused() {
        let c = db();
        for (entity, query) in [
            ("case'; DROP TABLE x", q(None, None, None)),
            ("", q(None, None, None)),
            ("case", q(Some("T1 OR 1=1"), None, None)),
            ("case", q(None, None, Some(0))),
            ("case", q(None, None, Some(MAX_LIMIT + 1))),
            (
                "case",
                RowQuery {
                    after_origin: Some("t1".into()),
                    ..q(None, None, None)
                },
            ),
            ("case", q(None, Some(("t1", &"k".repeat(201))), None)),
        ] {
            assert!(
                matches!(rows(&c, entity, &query), Err(ReplicationError::Protocol(_))),
                "{entity} {query:?}"
            );
        }
    }
}
