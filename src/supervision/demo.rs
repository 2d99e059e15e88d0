//! Demo content for `govbox demo`: a complaint about one of approval's demo cases, waiting to
//! be handled, and a bad evaluation of the completed one with its follow-up contact recorded.
//! The cards of the overdue demo case come from the sweep the service runs at start.

use super::complaints::{self, NewComplaint};
use super::evaluations::{self, Action};
use super::SupervisionError;
use crate::store::WriteTx;

pub fn seed(tx: &mut WriteTx) -> Result<(), SupervisionError> {
    let first = |sql: &str| -> Result<Option<String>, SupervisionError> {
        use rusqlite::OptionalExtension;
        Ok(tx.conn().query_row(sql, [], |r| r.get(0)).optional()?)
    };
    let open =
        first("SELECT receipt FROM approval_case_facts WHERE closed = 0 ORDER BY due_on LIMIT 1")?;
    let done = first(
        "SELECT receipt FROM approval_case_facts WHERE state = 'completed' ORDER BY case_id LIMIT 1",
    )?;
    complaints::submit(
        tx,
        &NewComplaint {
            category: "办事效率".into(),
            target: "县市场监督管理局登记注册科".into(),
            name: "赵先生".into(),
            phone: "13900001234".into(),
            body: "材料已经交齐，超过承诺时间仍未办结，电话询问也没有答复。".into(),
            receipt: open,
        },
    )?;
    if let Some(r) = done {
        evaluations::submit(tx, &r, 4, "窗口等候时间太长，叫号系统不好用")?;
        let supervisor = crate::auth::user_id(tx.conn(), "supervisor")?;
        let supervisor = crate::auth::user(tx.conn(), supervisor)?;
        evaluations::step(
            tx,
            Some(&supervisor),
            &r,
            Action::Contact,
            "已电话回访申请人，记录意见，转登记注册科整改",
        )?;
    }
    Ok(())
}
