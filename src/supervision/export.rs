//! A report as CSV (UTF-8 with BOM, so Excel on a Chinese Windows opens it right) and as a
//! real XLSX workbook. Both carry the same cells: title, range, headers, rows.

use rust_xlsxwriter::{Format, Workbook};

use super::stats::{Cell, Table};
use super::SupervisionError;

/// The table as rows of text, exactly the cells both formats carry.
pub fn grid(t: &Table) -> Vec<Vec<String>> {
    let mut out = vec![
        vec![t.title.clone()],
        vec![t.subtitle.clone()],
        t.headers.clone(),
    ];
    out.extend(t.rows.iter().map(|r| r.iter().map(Cell::text).collect()));
    out
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

pub fn csv(t: &Table) -> Vec<u8> {
    let mut s = String::from("\u{feff}");
    for row in grid(t) {
        let line: Vec<String> = row.iter().map(|c| csv_field(c)).collect();
        s.push_str(&line.join(","));
        s.push_str("\r\n");
    }
    s.into_bytes()
}

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> SupervisionError {
    SupervisionError::Export(e.to_string())
}

pub fn xlsx(t: &Table) -> Result<Vec<u8>, SupervisionError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet();
    let name: String = t.title.chars().take(31).collect();
    ws.set_name(&name).map_err(xlsx_error)?;
    ws.write_string_with_format(0, 0, &t.title, &bold)
        .map_err(xlsx_error)?;
    ws.write_string(1, 0, &t.subtitle).map_err(xlsx_error)?;
    for (c, h) in t.headers.iter().enumerate() {
        ws.write_string_with_format(2, c as u16, h, &bold)
            .map_err(xlsx_error)?;
        ws.set_column_width(c as u16, if c == 0 { 22 } else { 12 })
            .map_err(xlsx_error)?;
    }
    for (r, row) in t.rows.iter().enumerate() {
        let r = r as u32 + 3;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(s) => ws.write_string(r, c, s),
                Cell::Int(n) => ws.write_number(r, c, *n as f64),
                Cell::Rate(x) => ws.write_number(r, c, *x),
            }
            .map_err(xlsx_error)?;
        }
    }
    wb.save_to_buffer().map_err(xlsx_error)
}

/// A download name such as `工作量统计-2026-11-01-2026-11-30.xlsx`, percent-encoded for the
/// `filename*` of Content-Disposition.
pub fn file_name(t: &Table, from: &str, to: &str, ext: &str) -> String {
    let name = format!("{}-{from}-{to}.{ext}", t.title);
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
