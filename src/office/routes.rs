//! Circulation routes (公文流转): each document type defines steps 拟办 → 批办 → 承办 → 传阅 →
//! 办结; each step is one person or a group, and a group step completes when all of its
//! members have signed ("all") or when any one has ("any").

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{groups, line, short, user_by_name, OfficeError};
use crate::auth::User;
use crate::store::{Op, WriteTx};

/// The step kinds in the only order a route may take them.
pub const KINDS: [&str; 5] = ["拟办", "批办", "承办", "传阅", "办结"];

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct StepSpec {
    /// One of 拟办, 批办, 承办, 传阅, 办结.
    pub kind: String,
    /// A username; give either `user` or `group`.
    #[serde(default)]
    pub user: Option<String>,
    /// A group name (see `/api/office/groups`).
    #[serde(default)]
    pub group: Option<String>,
    /// `all` (every member signs) or `any` (one member signs); ignored for a single person.
    #[serde(default = "any")]
    pub mode: String,
}

fn any() -> String {
    "any".into()
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DocType {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub prefix: String,
    pub steps: Vec<StepSpec>,
}

/// Defines a document type with its route (or replaces the route of an existing code).
pub fn define_type(
    tx: &mut WriteTx,
    code: &str,
    name: &str,
    prefix: &str,
    steps: &[StepSpec],
) -> Result<DocType, OfficeError> {
    let code = line("code", code, 32, true)?;
    if !code
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(OfficeError::invalid("code", "只能包含字母、数字、- 和 _"));
    }
    let name = line("name", name, 40, true)?;
    let prefix = line("prefix", prefix, 16, true)?;
    if prefix.contains(['〔', '〕', '[', ']', '号']) || prefix.chars().any(char::is_whitespace) {
        return Err(OfficeError::invalid(
            "prefix",
            "文号前缀不能包含〔〕、[]、“号”或空格",
        ));
    }
    if steps.is_empty() || steps.len() > 20 {
        return Err(OfficeError::invalid("steps", "流程应有 1 到 20 步"));
    }
    let mut resolved = Vec::new();
    let mut last_kind = 0;
    for (i, s) in steps.iter().enumerate() {
        let k = KINDS
            .iter()
            .position(|k| *k == s.kind.trim())
            .ok_or_else(|| {
                OfficeError::invalid(
                    "steps",
                    format!(
                        "第 {} 步的类型 \"{}\" 无效，可选: {}",
                        i + 1,
                        short(&s.kind),
                        KINDS.join("、")
                    ),
                )
            })?;
        if k < last_kind {
            return Err(OfficeError::invalid(
                "steps",
                format!(
                    "第 {} 步 {} 不能排在 {} 之后：顺序应为 {}",
                    i + 1,
                    KINDS[k],
                    KINDS[last_kind],
                    KINDS.join(" → ")
                ),
            ));
        }
        last_kind = k;
        let mode = match s.mode.trim() {
            "all" | "全部签" => "all",
            "any" | "任一签" => "any",
            other => {
                return Err(OfficeError::invalid(
                    "steps",
                    format!(
                        "第 {} 步的签批方式 \"{}\" 无效，应为 all 或 any",
                        i + 1,
                        short(other)
                    ),
                ))
            }
        };
        let (user_id, group_id) = match (&s.user, &s.group) {
            (Some(u), None) => (Some(user_by_name(tx.conn(), "steps", u)?), None),
            (None, Some(g)) => (None, Some(groups::by_name(tx.conn(), "steps", g)?)),
            _ => {
                return Err(OfficeError::invalid(
                    "steps",
                    format!("第 {} 步应指定 user 或 group 之一", i + 1),
                ))
            }
        };
        resolved.push((KINDS[k], user_id, group_id, mode));
    }
    if resolved.last().map(|r| r.0) != Some("办结") {
        return Err(OfficeError::invalid("steps", "流程的最后一步应为 办结"));
    }
    let existing: Option<i64> = tx
        .conn()
        .query_row("SELECT id FROM doc_types WHERE code = ?1", [&code], |r| {
            r.get(0)
        })
        .optional()?;
    let prefix_owner: Option<String> = tx
        .conn()
        .query_row(
            "SELECT code FROM doc_types WHERE prefix = ?1",
            [&prefix],
            |r| r.get(0),
        )
        .optional()?;
    if prefix_owner.is_some_and(|c| c != code) {
        return Err(OfficeError::Conflict(format!(
            "文号前缀 {prefix} 已被其他公文类型使用"
        )));
    }
    let now = tx.now().to_string();
    let (id, op) = match existing {
        Some(id) => {
            tx.exec(
                "UPDATE doc_types SET name = ?2, prefix = ?3 WHERE id = ?1",
                params![id, name, prefix],
            )?;
            tx.exec("DELETE FROM doc_type_steps WHERE type_id = ?1", [id])?;
            (id, Op::Update)
        }
        None => (
            tx.insert(
                "INSERT INTO doc_types(code, name, prefix, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![code, name, prefix, now],
            )?,
            Op::Insert,
        ),
    };
    for (pos, (kind, user_id, group_id, mode)) in resolved.iter().enumerate() {
        tx.exec(
            "INSERT INTO doc_type_steps(type_id, position, kind, user_id, group_id, mode)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, pos as i64 + 1, kind, user_id, group_id, mode],
        )?;
    }
    super::change(
        tx,
        "doc_type",
        id,
        op,
        &serde_json::json!({"code": code, "name": name, "prefix": prefix, "steps": resolved}),
    )?;
    get_type(tx.conn(), id)
}

pub fn get_type(conn: &Connection, id: i64) -> Result<DocType, OfficeError> {
    let (code, name, prefix) = conn
        .query_row(
            "SELECT code, name, prefix FROM doc_types WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .ok_or_else(|| OfficeError::NotFound(format!("公文类型 {id}")))?;
    let steps = conn
        .prepare_cached(
            "SELECT s.kind, u.username, g.name, s.mode FROM doc_type_steps s
             LEFT JOIN users u ON u.id = s.user_id LEFT JOIN office_groups g ON g.id = s.group_id
             WHERE s.type_id = ?1 ORDER BY s.position",
        )?
        .query_map([id], |r| {
            Ok(StepSpec {
                kind: r.get(0)?,
                user: r.get(1)?,
                group: r.get(2)?,
                mode: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DocType {
        id,
        code,
        name,
        prefix,
        steps,
    })
}

pub fn list_types(conn: &Connection) -> Result<Vec<DocType>, OfficeError> {
    let ids = conn
        .prepare_cached("SELECT id FROM doc_types ORDER BY code")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    ids.into_iter().map(|id| get_type(conn, id)).collect()
}

pub fn type_by_code(conn: &Connection, code: &str) -> Result<(i64, String), OfficeError> {
    conn.query_row(
        "SELECT id, prefix FROM doc_types WHERE code = ?1",
        [code.trim()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?
    .ok_or_else(|| OfficeError::invalid("doc_type", format!("没有公文类型 \"{}\"", short(code))))
}

/// (position, kind, user, group, mode, label) of one step of a type's route.
type TypeStep = (i64, String, Option<i64>, Option<i64>, String, String);

/// Copies the type's route onto a new document, expanding groups to their members now, so
/// later changes to a group do not move documents already in circulation.
pub fn instantiate(tx: &mut WriteTx, doc_id: i64, type_id: i64) -> Result<(), OfficeError> {
    let steps: Vec<TypeStep> = tx
        .conn()
        .prepare_cached(
            "SELECT s.position, s.kind, s.user_id, s.group_id, s.mode,
                    coalesce(u.display_name, g.name) FROM doc_type_steps s
             LEFT JOIN users u ON u.id = s.user_id LEFT JOIN office_groups g ON g.id = s.group_id
             WHERE s.type_id = ?1 ORDER BY s.position",
        )?
        .query_map([type_id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for (pos, kind, user_id, group_id, mode, label) in steps {
        let signers = match (user_id, group_id) {
            (Some(u), _) => vec![u],
            (None, Some(g)) => groups::member_ids(tx.conn(), g)?,
            (None, None) => Vec::new(),
        };
        if signers.is_empty() {
            return Err(OfficeError::Conflict(format!(
                "流程第 {pos} 步（{kind}）的组 {label} 没有可用成员，请先维护该组"
            )));
        }
        let mode = if signers.len() == 1 {
            "any".to_string()
        } else {
            mode
        };
        tx.exec(
            "INSERT INTO doc_steps(doc_id, position, kind, mode, label) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![doc_id, pos, kind, mode, label],
        )?;
        for s in &signers {
            tx.exec(
                "INSERT INTO doc_signers(doc_id, position, user_id) VALUES (?1, ?2, ?3)",
                params![doc_id, pos, s],
            )?;
        }
        super::change(
            tx,
            "doc_step",
            format!("{doc_id}/{pos}"),
            Op::Insert,
            &serde_json::json!({"kind": kind, "mode": mode, "signers": signers}),
        )?;
    }
    Ok(())
}

/// What a signature did to the route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SignOutcome {
    /// The step's position and kind.
    pub position: i64,
    pub kind: String,
    /// The step is complete (by "any" or by the last of "all").
    pub step_done: bool,
    /// The whole route is complete: the document is 办结 and may be archived.
    pub route_done: bool,
}

/// `user` signs the document's current step with an optional opinion.
pub fn sign(
    tx: &mut WriteTx,
    doc_id: i64,
    user: &User,
    opinion: &str,
) -> Result<SignOutcome, OfficeError> {
    let opinion = super::multiline("opinion", opinion, 2000, false)?;
    let (status, current, number): (String, i64, String) = tx
        .conn()
        .query_row(
            "SELECT status, current_step, number FROM documents WHERE id = ?1",
            [doc_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .ok_or_else(|| OfficeError::NotFound(format!("公文 {doc_id}")))?;
    match status.as_str() {
        "archived" => return Err(OfficeError::Archived(number)),
        "done" => {
            return Err(OfficeError::OutOfOrder(format!(
                "公文 {number} 已办结，不需要再签批"
            )))
        }
        _ => {}
    }
    let mine: Option<Option<String>> = tx
        .conn()
        .query_row(
            "SELECT signed_at FROM doc_signers WHERE doc_id = ?1 AND position = ?2 AND user_id = ?3",
            params![doc_id, current, user.id],
            |r| r.get(0),
        )
        .optional()?;
    match mine {
        Some(Some(_)) => return Err(OfficeError::OutOfOrder("您已签过这一步".into())),
        Some(None) => {}
        None => {
            let later: bool = tx.conn().query_row(
                "SELECT EXISTS (SELECT 1 FROM doc_signers WHERE doc_id = ?1 AND position > ?2 AND user_id = ?3)",
                params![doc_id, current, user.id],
                |r| r.get(0),
            )?;
            return Err(if later {
                OfficeError::OutOfOrder("还没有轮到您签批这份公文".into())
            } else {
                OfficeError::Forbidden("您不是这份公文当前步骤的签批人".into())
            });
        }
    }
    let now = tx.now().to_string();
    tx.exec(
        "UPDATE doc_signers SET signed_at = ?4, opinion = ?5 WHERE doc_id = ?1 AND position = ?2 AND user_id = ?3",
        params![doc_id, current, user.id, now, opinion],
    )?;
    let (kind, mode): (String, String) = tx.conn().query_row(
        "SELECT kind, mode FROM doc_steps WHERE doc_id = ?1 AND position = ?2",
        params![doc_id, current],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let unsigned: i64 = tx.conn().query_row(
        "SELECT count(*) FROM doc_signers WHERE doc_id = ?1 AND position = ?2 AND signed_at IS NULL",
        params![doc_id, current],
        |r| r.get(0),
    )?;
    let step_done = mode == "any" || unsigned == 0;
    let mut route_done = false;
    if step_done {
        tx.exec(
            "UPDATE doc_steps SET done_at = ?3 WHERE doc_id = ?1 AND position = ?2",
            params![doc_id, current, now],
        )?;
        let next: Option<i64> = tx.conn().query_row(
            "SELECT min(position) FROM doc_steps WHERE doc_id = ?1 AND position > ?2",
            params![doc_id, current],
            |r| r.get(0),
        )?;
        match next {
            Some(n) => {
                tx.exec(
                    "UPDATE documents SET current_step = ?2, updated_at = ?3 WHERE id = ?1",
                    params![doc_id, n, now],
                )?;
            }
            None => {
                route_done = true;
                tx.exec(
                    "UPDATE documents SET status = 'done', updated_at = ?2 WHERE id = ?1",
                    params![doc_id, now],
                )?;
            }
        }
    }
    super::change(
        tx,
        "doc_signature",
        format!("{doc_id}/{current}/{}", user.id),
        Op::Update,
        &serde_json::json!({"opinion": opinion, "step_done": step_done, "route_done": route_done}),
    )?;
    Ok(SignOutcome {
        position: current,
        kind,
        step_done,
        route_done,
    })
}
