//! Document numbers `<prefix>〔YYYY〕N号`, per document type and year.
//!
//! The counter is bumped in the same write transaction that inserts the document, and the
//! store has a single writer, so numbers are sequential with no gap and no duplicate; the
//! `UNIQUE (type_id, year, seq)` constraint on documents would refuse a duplicate anyway.

use rusqlite::params;

use super::OfficeError;
use crate::store::{Op, WriteTx};

pub fn format(prefix: &str, year: i32, seq: i64) -> String {
    format!("{prefix}〔{year}〕{seq}号")
}

/// The next number of `type_id` in `year`.
pub fn allocate(tx: &mut WriteTx, type_id: i64, year: i32) -> Result<i64, OfficeError> {
    tx.exec(
        "INSERT INTO doc_numbers(type_id, year, last) VALUES (?1, ?2, 1)
         ON CONFLICT(type_id, year) DO UPDATE SET last = last + 1",
        params![type_id, year],
    )?;
    let last: i64 = tx.conn().query_row(
        "SELECT last FROM doc_numbers WHERE type_id = ?1 AND year = ?2",
        params![type_id, year],
        |r| r.get(0),
    )?;
    super::change(
        tx,
        "doc_number",
        format!("{type_id}/{year}"),
        Op::Update,
        &serde_json::json!({"type_id": type_id, "year": year, "last": last}),
    )?;
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_number_reads_like_a_paper_one() {
        assert_eq!(format("红政发", 2026, 7), "红政发〔2026〕7号");
    }
}
