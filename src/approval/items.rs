//! The item catalogue (事项目录): what may be applied for, who owns it, its limits, materials,
//! policy basis, fees, joint departments, and who may act on which step.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{line, multiline, short, ApprovalError, Step};
use crate::auth::{self, Role, User};
use crate::store::{valid_hash, Op, WriteTx};

/// Joint approval (联办) may take at most 45 working days, extendable once by 15
/// (行政许可法 Art. 42): the ceiling a joint item's statutory limit may not exceed.
pub const JOINT_CEILING_DAYS: u32 = 45;
pub const JOINT_EXTENSION_DAYS: u32 = 15;
/// A whole catalogue in one import: a county has a few hundred items.
pub const MAX_IMPORT_ITEMS: usize = 2000;
const MAX_PARTS: usize = 50;

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct MaterialSpec {
    pub name: String,
    pub required: bool,
    /// Blank form: blob hash and the name to download it as.
    #[serde(default)]
    pub blank_hash: Option<String>,
    #[serde(default)]
    pub blank_name: Option<String>,
    /// Filled example.
    #[serde(default)]
    pub example_hash: Option<String>,
    #[serde(default)]
    pub example_name: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct BasisSpec {
    pub name: String,
    #[serde(default)]
    pub article: String,
    #[serde(default)]
    pub doc_hash: Option<String>,
    #[serde(default)]
    pub doc_name: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct FeeSpec {
    pub name: String,
    pub unit_price_fen: i64,
    /// e.g. 件, 平方米, 吨.
    pub unit: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct JointSpec {
    /// Department id or name.
    pub department: String,
    /// Working days the department has for its part.
    pub days: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct HandlerSpec {
    /// `accept`, `undertake`, `review` or `approve`.
    pub step: String,
    /// Usernames; each must hold the step's role.
    pub users: Vec<String>,
}

/// An item as entered by an admin, and as the catalogue is exported and imported.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ItemInput {
    pub code: String,
    pub name: String,
    pub short_name: String,
    /// `immediate` 即办件, `promised` 承诺件, `joint` 联办件.
    pub kind: String,
    /// The owning (lead) department: id or name.
    pub department: String,
    pub promised_days: u32,
    pub statutory_days: u32,
    #[serde(default)]
    pub expert_review: bool,
    #[serde(default)]
    pub conditions: String,
    #[serde(default)]
    pub process: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub contact_phone: String,
    #[serde(default = "yes")]
    pub online: bool,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub materials: Vec<MaterialSpec>,
    #[serde(default)]
    pub basis: Vec<BasisSpec>,
    #[serde(default)]
    pub fees: Vec<FeeSpec>,
    #[serde(default)]
    pub joint: Vec<JointSpec>,
    #[serde(default)]
    pub handlers: Vec<HandlerSpec>,
}

impl ItemInput {
    /// Every blob the item refers to, for the caller to check they are stored.
    pub fn blob_hashes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for m in &self.materials {
            out.extend(m.blank_hash.iter().chain(m.example_hash.iter()).cloned());
        }
        for b in &self.basis {
            out.extend(b.doc_hash.iter().cloned());
        }
        out.sort();
        out.dedup();
        out
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JointDept {
    pub department_id: i64,
    pub department_name: String,
    pub days: u32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemHandler {
    pub step: String,
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
}

/// The whole item, as the office and the portal's service guide show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Item {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub kind: String,
    pub kind_zh: String,
    pub department_id: i64,
    pub department_name: String,
    pub promised_days: u32,
    pub statutory_days: u32,
    pub expert_review: bool,
    pub conditions: String,
    pub process: String,
    pub location: String,
    pub contact_phone: String,
    pub online: bool,
    pub active: bool,
    pub materials: Vec<MaterialSpec>,
    pub basis: Vec<BasisSpec>,
    pub fees: Vec<FeeSpec>,
    pub joint: Vec<JointDept>,
    pub handlers: Vec<ItemHandler>,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemSummary {
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub kind: String,
    pub kind_zh: String,
    pub department_name: String,
    pub promised_days: u32,
    pub online: bool,
    pub active: bool,
}

/// The export and import format of the whole catalogue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Catalogue {
    /// 1.
    pub format: u32,
    pub items: Vec<ItemInput>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportSummary {
    pub created: usize,
    pub updated: usize,
}

pub fn kind_zh(kind: &str) -> &'static str {
    match kind {
        "immediate" => "即办件",
        "promised" => "承诺件",
        "joint" => "联办件",
        _ => "未知",
    }
}

pub fn require_admin(user: &User) -> Result<(), ApprovalError> {
    if user.has(Role::Admin) {
        Ok(())
    } else {
        Err(ApprovalError::Forbidden(
            "只有系统管理员可以维护事项目录".into(),
        ))
    }
}

fn find_dept(conn: &Connection, field: &'static str, v: &str) -> Result<i64, ApprovalError> {
    let v = v.trim();
    if v.is_empty() {
        return Err(ApprovalError::invalid(field, "请选择部门"));
    }
    auth::find_department(conn, v).map_err(|e| match e {
        auth::AuthError::NotFound(_) => {
            ApprovalError::invalid(field, format!("没有部门 \"{}\"", short(v)))
        }
        other => other.into(),
    })
}

fn hash_field(
    field: &'static str,
    hash: &Option<String>,
    name: &Option<String>,
) -> Result<(Option<String>, Option<String>), ApprovalError> {
    let hash = hash.as_deref().map(str::trim).filter(|h| !h.is_empty());
    match hash {
        None => Ok((None, None)),
        Some(h) if !valid_hash(h) => Err(ApprovalError::invalid(
            field,
            format!("文件编号 \"{}\" 不是 SHA-256", short(h)),
        )),
        Some(h) => {
            let n = line(field, name.as_deref().unwrap_or(""), 120, true)?;
            if n.contains(['/', '\\']) {
                return Err(ApprovalError::invalid(field, "文件名不能含有路径分隔符"));
            }
            Ok((Some(h.to_string()), Some(n)))
        }
    }
}

struct Checked {
    code: String,
    name: String,
    short_name: String,
    kind: String,
    department_id: i64,
    conditions: String,
    process: String,
    location: String,
    contact_phone: String,
    materials: Vec<MaterialSpec>,
    basis: Vec<BasisSpec>,
    fees: Vec<FeeSpec>,
    joint: Vec<(i64, u32)>,
    handlers: Vec<(Step, i64)>,
}

fn validate(conn: &Connection, it: &ItemInput) -> Result<Checked, ApprovalError> {
    let code = it.code.trim().to_string();
    if code.is_empty()
        || code.len() > 40
        || !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(ApprovalError::invalid(
            "code",
            format!(
                "事项编码 \"{}\" 无效：1 到 40 个字母、数字、-、_ 或 .",
                short(&it.code)
            ),
        ));
    }
    let name = line("name", &it.name, 200, true)?;
    let short_name = line("short_name", &it.short_name, 50, true)?;
    let kind = it.kind.trim().to_string();
    if !["immediate", "promised", "joint"].contains(&kind.as_str()) {
        return Err(ApprovalError::invalid(
            "kind",
            "办件类型只能是 immediate（即办件）、promised（承诺件）或 joint（联办件）",
        ));
    }
    let department_id = find_dept(conn, "department", &it.department)?;
    if kind == "immediate" && it.promised_days != 0 {
        return Err(ApprovalError::invalid(
            "promised_days",
            "即办件当场办结，承诺时限应为 0 个工作日",
        ));
    }
    if kind != "immediate" && it.promised_days == 0 {
        return Err(ApprovalError::invalid(
            "promised_days",
            "承诺件和联办件的承诺时限至少 1 个工作日",
        ));
    }
    if it.statutory_days > 365 {
        return Err(ApprovalError::invalid(
            "statutory_days",
            "法定时限不能超过 365 个工作日",
        ));
    }
    if it.statutory_days < it.promised_days {
        return Err(ApprovalError::invalid(
            "statutory_days",
            format!(
                "法定时限（{} 个工作日）不能短于承诺时限（{} 个工作日）",
                it.statutory_days, it.promised_days
            ),
        ));
    }
    if kind == "joint" && it.statutory_days > JOINT_CEILING_DAYS + JOINT_EXTENSION_DAYS {
        return Err(ApprovalError::invalid(
            "statutory_days",
            format!(
                "联办件法定时限不超过 {JOINT_CEILING_DAYS} 个工作日，经批准可延长 {JOINT_EXTENSION_DAYS} 个工作日（行政许可法第四十二条），最多 {} 个工作日",
                JOINT_CEILING_DAYS + JOINT_EXTENSION_DAYS
            ),
        ));
    }
    let conditions = multiline("conditions", &it.conditions, 5000, false)?;
    let process = multiline("process", &it.process, 5000, false)?;
    let location = line("location", &it.location, 200, false)?;
    let contact_phone = line("contact_phone", &it.contact_phone, 30, false)?;
    if !contact_phone
        .chars()
        .all(|c| c.is_ascii_digit() || "-+ ()转".contains(c))
    {
        return Err(ApprovalError::invalid(
            "contact_phone",
            "咨询电话只能含数字、-、空格、括号",
        ));
    }
    for (what, n) in [
        ("materials", it.materials.len()),
        ("basis", it.basis.len()),
        ("fees", it.fees.len()),
        ("joint", it.joint.len()),
    ] {
        if n > MAX_PARTS {
            return Err(ApprovalError::invalid(
                match what {
                    "materials" => "materials",
                    "basis" => "basis",
                    "fees" => "fees",
                    _ => "joint",
                },
                format!("最多 {MAX_PARTS} 项"),
            ));
        }
    }
    let mut materials = Vec::new();
    for m in &it.materials {
        let n = line("materials", &m.name, 100, true)?;
        if materials.iter().any(|x: &MaterialSpec| x.name == n) {
            return Err(ApprovalError::invalid(
                "materials",
                format!("材料 \"{n}\" 重复"),
            ));
        }
        let (blank_hash, blank_name) = hash_field("materials", &m.blank_hash, &m.blank_name)?;
        let (example_hash, example_name) =
            hash_field("materials", &m.example_hash, &m.example_name)?;
        materials.push(MaterialSpec {
            name: n,
            required: m.required,
            blank_hash,
            blank_name,
            example_hash,
            example_name,
        });
    }
    let mut basis = Vec::new();
    for b in &it.basis {
        let (doc_hash, doc_name) = hash_field("basis", &b.doc_hash, &b.doc_name)?;
        basis.push(BasisSpec {
            name: line("basis", &b.name, 200, true)?,
            article: line("basis", &b.article, 200, false)?,
            doc_hash,
            doc_name,
        });
    }
    let mut fees: Vec<FeeSpec> = Vec::new();
    for f in &it.fees {
        let n = line("fees", &f.name, 100, true)?;
        if fees.iter().any(|x| x.name == n) {
            return Err(ApprovalError::invalid(
                "fees",
                format!("收费项目 \"{n}\" 重复"),
            ));
        }
        if !(0..=super::money::MAX_FEN).contains(&f.unit_price_fen) {
            return Err(ApprovalError::invalid(
                "fees",
                format!("收费项目 \"{n}\" 的单价应在 0 到 1 亿元之间"),
            ));
        }
        fees.push(FeeSpec {
            name: n,
            unit_price_fen: f.unit_price_fen,
            unit: line("fees", &f.unit, 20, true)?,
        });
    }
    let mut joint: Vec<(i64, u32)> = Vec::new();
    for j in &it.joint {
        let d = find_dept(conn, "joint", &j.department)?;
        if d == department_id {
            return Err(ApprovalError::invalid(
                "joint",
                "牵头部门不能同时是配合部门",
            ));
        }
        if joint.iter().any(|(x, _)| *x == d) {
            return Err(ApprovalError::invalid(
                "joint",
                format!("配合部门 \"{}\" 重复", short(&j.department)),
            ));
        }
        if j.days == 0 || j.days > it.promised_days {
            return Err(ApprovalError::invalid(
                "joint",
                format!(
                    "配合部门 \"{}\" 的时限应在 1 到承诺时限（{} 个工作日）之间",
                    short(&j.department),
                    it.promised_days
                ),
            ));
        }
        joint.push((d, j.days));
    }
    if kind == "joint" && joint.is_empty() {
        return Err(ApprovalError::invalid(
            "joint",
            "联办件至少要有一个配合部门",
        ));
    }
    if kind != "joint" && !joint.is_empty() {
        return Err(ApprovalError::invalid("joint", "只有联办件才有配合部门"));
    }
    let mut handlers: Vec<(Step, i64)> = Vec::new();
    for h in &it.handlers {
        let step = Step::parse(h.step.trim())?;
        if h.users.len() > MAX_PARTS {
            return Err(ApprovalError::invalid(
                "handlers",
                format!("每个环节最多 {MAX_PARTS} 人"),
            ));
        }
        for name in &h.users {
            let id = auth::user_id(conn, name.trim()).map_err(|_| {
                ApprovalError::invalid("handlers", format!("没有用户 \"{}\"", short(name)))
            })?;
            let u = auth::user(conn, id)?;
            if !u.has(step.role()) {
                return Err(ApprovalError::invalid(
                    "handlers",
                    format!(
                        "用户 {} 没有{}角色，不能负责{}环节",
                        u.display_name,
                        step.role().name_zh(),
                        step.label_zh()
                    ),
                ));
            }
            if !handlers.contains(&(step, id)) {
                handlers.push((step, id));
            }
        }
    }
    Ok(Checked {
        code,
        name,
        short_name,
        kind,
        department_id,
        conditions,
        process,
        location,
        contact_phone,
        materials,
        basis,
        fees,
        joint,
        handlers,
    })
}

/// Creates the item or replaces the one with the same code. Admins only. Blobs named must be
/// stored already (the caller checks them with [`ItemInput::blob_hashes`]).
pub fn save(tx: &mut WriteTx, user: &User, it: &ItemInput) -> Result<Item, ApprovalError> {
    require_admin(user)?;
    save_unchecked(tx, it).map(|(item, _)| item)
}

/// (the item, whether it was new).
fn save_unchecked(tx: &mut WriteTx, it: &ItemInput) -> Result<(Item, bool), ApprovalError> {
    let c = validate(tx.conn(), it)?;
    let now = tx.now().to_string();
    let existing: Option<i64> = tx
        .conn()
        .query_row(
            "SELECT id FROM approval_items WHERE code = ?1",
            [&c.code],
            |r| r.get(0),
        )
        .optional()?;
    let id = match existing {
        Some(id) => {
            tx.exec(
                "UPDATE approval_items SET name = ?2, short_name = ?3, kind = ?4, department_id = ?5,
                        promised_days = ?6, statutory_days = ?7, expert_review = ?8, conditions = ?9,
                        process = ?10, location = ?11, contact_phone = ?12, online = ?13, active = ?14,
                        updated_at = ?15
                  WHERE id = ?1",
                params![
                    id, c.name, c.short_name, c.kind, c.department_id, it.promised_days,
                    it.statutory_days, it.expert_review, c.conditions, c.process, c.location,
                    c.contact_phone, it.online, it.active, now
                ],
            )?;
            for table in [
                "approval_item_materials",
                "approval_item_basis",
                "approval_item_fees",
                "approval_item_joint",
                "approval_item_handlers",
            ] {
                tx.exec(&format!("DELETE FROM {table} WHERE item_id = ?1"), [id])?;
            }
            id
        }
        None => tx.insert(
            "INSERT INTO approval_items(code, name, short_name, kind, department_id, promised_days,
                    statutory_days, expert_review, conditions, process, location, contact_phone,
                    online, active, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15)",
            params![
                c.code,
                c.name,
                c.short_name,
                c.kind,
                c.department_id,
                it.promised_days,
                it.statutory_days,
                it.expert_review,
                c.conditions,
                c.process,
                c.location,
                c.contact_phone,
                it.online,
                it.active,
                now
            ],
        )?,
    };
    for (i, m) in c.materials.iter().enumerate() {
        tx.exec(
            "INSERT INTO approval_item_materials(item_id, position, name, required, blank_hash,
                    blank_name, example_hash, example_name) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![id, i, m.name, m.required, m.blank_hash, m.blank_name, m.example_hash, m.example_name],
        )?;
    }
    for (i, b) in c.basis.iter().enumerate() {
        tx.exec(
            "INSERT INTO approval_item_basis(item_id, position, name, article, doc_hash, doc_name)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, i, b.name, b.article, b.doc_hash, b.doc_name],
        )?;
    }
    for (i, f) in c.fees.iter().enumerate() {
        tx.exec(
            "INSERT INTO approval_item_fees(item_id, position, name, unit_price_fen, unit)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, i, f.name, f.unit_price_fen, f.unit],
        )?;
    }
    for (d, days) in &c.joint {
        tx.exec(
            "INSERT INTO approval_item_joint(item_id, department_id, days) VALUES (?1, ?2, ?3)",
            params![id, d, days],
        )?;
    }
    for (step, u) in &c.handlers {
        tx.exec(
            "INSERT INTO approval_item_handlers(item_id, step, user_id) VALUES (?1, ?2, ?3)",
            params![id, step.code(), u],
        )?;
    }
    let item = by_id(tx.conn(), id)?;
    let hashes = it.blob_hashes();
    let refs: Vec<&str> = hashes.iter().map(String::as_str).collect();
    tx.change_with_blobs(
        "approval_item",
        &item.code,
        if existing.is_some() {
            Op::Update
        } else {
            Op::Insert
        },
        &item,
        &refs,
    )?;
    Ok((item, existing.is_none()))
}

/// Imports a whole catalogue: every item is created or replaced, or, when one is wrong,
/// nothing is (the error names the item).
pub fn import(
    tx: &mut WriteTx,
    user: &User,
    cat: &Catalogue,
) -> Result<ImportSummary, ApprovalError> {
    require_admin(user)?;
    if cat.format != 1 {
        return Err(ApprovalError::invalid(
            "format",
            format!("目录格式版本 {} 不认识，应为 1", cat.format),
        ));
    }
    if cat.items.is_empty() {
        return Err(ApprovalError::invalid("items", "目录中没有事项"));
    }
    if cat.items.len() > MAX_IMPORT_ITEMS {
        return Err(ApprovalError::invalid(
            "items",
            format!("一次最多导入 {MAX_IMPORT_ITEMS} 个事项"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    let mut sum = ImportSummary {
        created: 0,
        updated: 0,
    };
    for (n, it) in cat.items.iter().enumerate() {
        let code = it.code.trim().to_string();
        if !seen.insert(code.clone()) {
            return Err(ApprovalError::invalid(
                "items",
                format!("第 {} 个事项：编码 {} 在文件中重复", n + 1, short(&code)),
            ));
        }
        match save_unchecked(tx, it) {
            Ok((_, true)) => sum.created += 1,
            Ok((_, false)) => sum.updated += 1,
            Err(ApprovalError::Invalid { field, zh }) => {
                return Err(ApprovalError::Invalid {
                    field,
                    zh: format!("第 {} 个事项（{}）：{zh}", n + 1, short(&code)),
                })
            }
            Err(e) => return Err(e),
        }
    }
    Ok(sum)
}

/// The whole catalogue, inactive items included, in the import format.
pub fn export(conn: &Connection) -> Result<Catalogue, ApprovalError> {
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM approval_items ORDER BY code")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        let it = by_id(conn, id)?;
        let mut handlers: Vec<HandlerSpec> = Vec::new();
        for h in &it.handlers {
            match handlers.iter_mut().find(|x| x.step == h.step) {
                Some(x) => x.users.push(h.username.clone()),
                None => handlers.push(HandlerSpec {
                    step: h.step.clone(),
                    users: vec![h.username.clone()],
                }),
            }
        }
        items.push(ItemInput {
            code: it.code,
            name: it.name,
            short_name: it.short_name,
            kind: it.kind,
            department: it.department_name,
            promised_days: it.promised_days,
            statutory_days: it.statutory_days,
            expert_review: it.expert_review,
            conditions: it.conditions,
            process: it.process,
            location: it.location,
            contact_phone: it.contact_phone,
            online: it.online,
            active: it.active,
            materials: it.materials,
            basis: it.basis,
            fees: it.fees,
            joint: it
                .joint
                .into_iter()
                .map(|j| JointSpec {
                    department: j.department_name,
                    days: j.days,
                })
                .collect(),
            handlers,
        });
    }
    Ok(Catalogue { format: 1, items })
}

fn summary_row(r: &rusqlite::Row) -> rusqlite::Result<ItemSummary> {
    let kind: String = r.get(3)?;
    Ok(ItemSummary {
        code: r.get(0)?,
        name: r.get(1)?,
        short_name: r.get(2)?,
        kind_zh: kind_zh(&kind).into(),
        kind,
        department_name: r.get(4)?,
        promised_days: r.get(5)?,
        online: r.get(6)?,
        active: r.get(7)?,
    })
}

const SUMMARY_SQL: &str =
    "SELECT i.code, i.name, i.short_name, i.kind, d.name, i.promised_days, i.online, i.active
      FROM approval_items i JOIN departments d ON d.id = i.department_id";

/// Every item, inactive ones included, for admins and the window.
pub fn list(conn: &Connection) -> Result<Vec<ItemSummary>, ApprovalError> {
    let sql = format!("{SUMMARY_SQL} ORDER BY i.active DESC, i.code");
    Ok(conn
        .prepare_cached(&sql)?
        .query_map([], summary_row)?
        .collect::<Result<_, _>>()?)
}

/// Active items that may be applied for online: the portal's service guide.
pub fn list_public(conn: &Connection) -> Result<Vec<ItemSummary>, ApprovalError> {
    let sql = format!("{SUMMARY_SQL} WHERE i.active = 1 AND i.online = 1 ORDER BY i.code");
    Ok(conn
        .prepare_cached(&sql)?
        .query_map([], summary_row)?
        .collect::<Result<_, _>>()?)
}

pub fn get(conn: &Connection, code: &str) -> Result<Item, ApprovalError> {
    let id: i64 = conn
        .query_row(
            "SELECT id FROM approval_items WHERE code = ?1",
            [code.trim()],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| ApprovalError::NotFound(format!("事项 \"{}\"", short(code))))?;
    by_id(conn, id)
}

pub fn by_id(conn: &Connection, id: i64) -> Result<Item, ApprovalError> {
    let mut it = conn
        .prepare_cached(
            "SELECT i.id, i.code, i.name, i.short_name, i.kind, i.department_id, d.name,
                    i.promised_days, i.statutory_days, i.expert_review, i.conditions, i.process,
                    i.location, i.contact_phone, i.online, i.active, i.updated_at
               FROM approval_items i JOIN departments d ON d.id = i.department_id WHERE i.id = ?1",
        )?
        .query_row([id], |r| {
            let kind: String = r.get(4)?;
            Ok(Item {
                id: r.get(0)?,
                code: r.get(1)?,
                name: r.get(2)?,
                short_name: r.get(3)?,
                kind_zh: kind_zh(&kind).into(),
                kind,
                department_id: r.get(5)?,
                department_name: r.get(6)?,
                promised_days: r.get(7)?,
                statutory_days: r.get(8)?,
                expert_review: r.get(9)?,
                conditions: r.get(10)?,
                process: r.get(11)?,
                location: r.get(12)?,
                contact_phone: r.get(13)?,
                online: r.get(14)?,
                active: r.get(15)?,
                updated_at: r.get(16)?,
                materials: Vec::new(),
                basis: Vec::new(),
                fees: Vec::new(),
                joint: Vec::new(),
                handlers: Vec::new(),
            })
        })
        .optional()?
        .ok_or_else(|| ApprovalError::NotFound(format!("事项 {id}")))?;
    it.materials = conn
        .prepare_cached(
            "SELECT name, required, blank_hash, blank_name, example_hash, example_name
               FROM approval_item_materials WHERE item_id = ?1 ORDER BY position",
        )?
        .query_map([id], |r| {
            Ok(MaterialSpec {
                name: r.get(0)?,
                required: r.get(1)?,
                blank_hash: r.get(2)?,
                blank_name: r.get(3)?,
                example_hash: r.get(4)?,
                example_name: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    it.basis = conn
        .prepare_cached(
            "SELECT name, article, doc_hash, doc_name FROM approval_item_basis
              WHERE item_id = ?1 ORDER BY position",
        )?
        .query_map([id], |r| {
            Ok(BasisSpec {
                name: r.get(0)?,
                article: r.get(1)?,
                doc_hash: r.get(2)?,
                doc_name: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    it.fees = conn
        .prepare_cached(
            "SELECT name, unit_price_fen, unit FROM approval_item_fees WHERE item_id = ?1 ORDER BY position",
        )?
        .query_map([id], |r| {
            Ok(FeeSpec {
                name: r.get(0)?,
                unit_price_fen: r.get(1)?,
                unit: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    it.joint = conn
        .prepare_cached(
            "SELECT j.department_id, d.name, j.days FROM approval_item_joint j
               JOIN departments d ON d.id = j.department_id WHERE j.item_id = ?1 ORDER BY d.name",
        )?
        .query_map([id], |r| {
            Ok(JointDept {
                department_id: r.get(0)?,
                department_name: r.get(1)?,
                days: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    it.handlers = conn
        .prepare_cached(
            "SELECT h.step, u.id, u.username, u.display_name FROM approval_item_handlers h
               JOIN users u ON u.id = h.user_id WHERE h.item_id = ?1
              ORDER BY CASE h.step WHEN 'accept' THEN 1 WHEN 'undertake' THEN 2 WHEN 'review' THEN 3 ELSE 4 END, u.username",
        )?
        .query_map([id], |r| {
            Ok(ItemHandler {
                step: r.get(0)?,
                user_id: r.get(1)?,
                username: r.get(2)?,
                display_name: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(it)
}

/// The users named for `step` of an item; empty means anyone holding the step's role (in the
/// item's department, for the department's own steps) may act.
pub fn handlers_for(
    conn: &Connection,
    item_id: i64,
    step: Step,
) -> Result<Vec<i64>, ApprovalError> {
    Ok(conn
        .prepare_cached(
            "SELECT h.user_id FROM approval_item_handlers h JOIN users u ON u.id = h.user_id
              WHERE h.item_id = ?1 AND h.step = ?2 AND u.disabled = 0 ORDER BY h.user_id",
        )?
        .query_map(params![item_id, step.code()], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

/// The download name of `hash` when it is a blank form, filled example or basis document of an
/// active item: the only blobs the portal may serve.
pub fn public_file(conn: &Connection, hash: &str) -> Result<Option<String>, ApprovalError> {
    if !valid_hash(hash) {
        return Ok(None);
    }
    Ok(conn
        .prepare_cached(
            "SELECT m.blank_name FROM approval_item_materials m JOIN approval_items i ON i.id = m.item_id
              WHERE i.active = 1 AND m.blank_hash = ?1
             UNION ALL
             SELECT m.example_name FROM approval_item_materials m JOIN approval_items i ON i.id = m.item_id
              WHERE i.active = 1 AND m.example_hash = ?1
             UNION ALL
             SELECT b.doc_name FROM approval_item_basis b JOIN approval_items i ON i.id = b.item_id
              WHERE i.active = 1 AND b.doc_hash = ?1
             LIMIT 1",
        )?
        .query_row([hash], |r| r.get(0))
        .optional()?)
}
