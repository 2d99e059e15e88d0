//! 办事指南 and 网上申报 on the portal, over the approval part's catalogue and intake: the guide
//! shows an item's materials, basis, limits, fees, process and downloadable forms; the online
//! application stores the uploaded materials as blobs (checked like every portal upload) and
//! hands them to [`crate::approval::intake::submit`]. Complaints go to the supervision part.

use rusqlite::Connection;

use super::{files, PortalError};
use crate::approval::{intake, items};
use crate::store::{Blobs, WriteTx};

/// Files one application may carry, and the whole request's limit.
pub const MAX_APPLICATION_FILES: usize = 10;
pub const MAX_APPLICATION_BYTES: usize = 32 << 20;

/// Items that may be applied for online, optionally those whose name, short name, code or
/// department contains `q`.
pub fn guides(conn: &Connection, q: &str) -> Result<Vec<items::ItemSummary>, PortalError> {
    let q = q.trim();
    Ok(items::list_public(conn)?
        .into_iter()
        .filter(|i| {
            q.is_empty()
                || [&i.name, &i.short_name, &i.code, &i.department_name]
                    .iter()
                    .any(|f| f.contains(q))
        })
        .collect())
}

/// One item's guide, if it is active (inactive items have no public guide).
pub fn guide(conn: &Connection, code: &str) -> Result<items::Item, PortalError> {
    let it = items::get(conn, code)?;
    if !it.active {
        return Err(PortalError::NotFound(format!(
            "办事指南 {}",
            super::short(code)
        )));
    }
    Ok(it)
}

/// One uploaded material before it is stored.
pub struct Upload {
    /// The item's material it is for.
    pub material: String,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// Checks every upload (name, type, content, size) and only then stores them; answers the
/// intake's file list. Nothing is stored when any file is refused.
pub fn store_uploads(
    blobs: &Blobs,
    item: &items::Item,
    uploads: &[Upload],
) -> Result<Vec<intake::IntakeFile>, PortalError> {
    if uploads.len() > MAX_APPLICATION_FILES {
        return Err(PortalError::invalid(
            "materials",
            format!("一次最多上传 {MAX_APPLICATION_FILES} 个文件"),
        ));
    }
    let mut checked = Vec::new();
    for u in uploads {
        if !item.materials.iter().any(|m| m.name == u.material) {
            return Err(PortalError::invalid(
                "materials",
                format!("“{}”不是本事项的申请材料", super::short(&u.material)),
            ));
        }
        let named = |e: PortalError| {
            let why = match e {
                PortalError::Invalid { zh, .. } => zh,
                other => other.to_string(),
            };
            PortalError::invalid("materials", format!("{}：{why}", u.material))
        };
        let (name, content_type) = files::clean_name(&u.file_name).map_err(named)?;
        files::check_content(&u.bytes).map_err(named)?;
        checked.push((u, name, content_type));
    }
    let mut out = Vec::new();
    for (u, name, content_type) in checked {
        let hash = blobs.put(&u.bytes)?;
        out.push(intake::IntakeFile {
            name: u.material.clone(),
            hash,
            file_name: name,
            content_type: content_type.into(),
            size: u.bytes.len() as i64,
        });
    }
    Ok(out)
}

/// Files the application in the intake queue (预审); the files must be stored already.
pub fn apply(
    tx: &mut WriteTx,
    app: &intake::NewApplication,
) -> Result<intake::Submitted, PortalError> {
    for m in &app.materials {
        if !crate::store::valid_hash(&m.hash) {
            return Err(PortalError::invalid("materials", "附件引用无效"));
        }
    }
    Ok(intake::submit(tx, app)?)
}
