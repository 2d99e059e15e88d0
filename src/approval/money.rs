//! Money in integer fen (分), quantities as decimal text. Never a float: 0.1 + 0.2 is not 0.3
//! in binary floating point, and a fee notice must add up to the fen.
//!
//! Rounding rule: a fee line's amount is unit price (fen) × quantity, computed exactly, then
//! rounded to the nearest fen with halves rounded up (四舍五入), the rule of the fee notices
//! (缴款通知书). Quantities have at most 4 decimal places; the total is the sum of the rounded lines.

/// The largest amount a single fee line or total may reach: 100 million yuan.
pub const MAX_FEN: i64 = 10_000_000_000;
const MAX_DECIMALS: usize = 4;

/// A non-negative decimal quantity, kept as its digits scaled by 10^4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    scaled: i128,
}

impl Quantity {
    pub const SCALE: i128 = 10_000;

    /// Parses `"2"`, `"2.5"`, `"0.125"`; refuses signs, exponents, more than 4 decimals and
    /// anything beyond a million units.
    pub fn parse(text: &str) -> Result<Quantity, String> {
        let t = text.trim();
        let (int, frac) = match t.split_once('.') {
            Some((i, f)) => (i, f),
            None => (t, ""),
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("数量 \"{}\" 应为非负数，如 1 或 2.5", short(text)));
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) || (t.contains('.') && frac.is_empty()) {
            return Err(format!("数量 \"{}\" 应为非负数，如 1 或 2.5", short(text)));
        }
        if frac.len() > MAX_DECIMALS {
            return Err(format!("数量最多保留 {MAX_DECIMALS} 位小数"));
        }
        if int.trim_start_matches('0').len() > 7 {
            return Err("数量太大".into());
        }
        let int: i128 = int.parse().map_err(|_| "数量太大".to_string())?;
        let mut f: i128 = 0;
        for b in frac
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(MAX_DECIMALS)
        {
            f = f * 10 + i128::from(b - b'0');
        }
        let scaled = int * Self::SCALE + f;
        if scaled > 1_000_000 * Self::SCALE {
            return Err("数量不能超过 1000000".into());
        }
        Ok(Quantity { scaled })
    }

    /// The quantity as written back: no trailing zeros (`2.5`, `3`).
    pub fn to_text(self) -> String {
        let int = self.scaled / Self::SCALE;
        let frac = self.scaled % Self::SCALE;
        if frac == 0 {
            return int.to_string();
        }
        let f = format!("{frac:04}");
        format!("{int}.{}", f.trim_end_matches('0'))
    }
}

/// unit price × quantity, rounded half up to the fen.
pub fn amount(unit_price_fen: i64, q: Quantity) -> Result<i64, String> {
    let exact = i128::from(unit_price_fen) * q.scaled;
    let fen = (exact + Quantity::SCALE / 2) / Quantity::SCALE;
    if fen > i128::from(MAX_FEN) {
        return Err("金额超过上限（1 亿元）".into());
    }
    Ok(fen as i64)
}

/// Parses yuan as written on a form (`"12"`, `"12.5"`, `"12.50"`) into fen; at most 2 decimals.
pub fn parse_yuan(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || (t.contains('.') && !digits(frac)) || frac.len() > 2 {
        return Err(format!(
            "金额 \"{}\" 应为元，最多两位小数，如 12 或 12.50",
            short(text)
        ));
    }
    if int.trim_start_matches('0').len() > 9 {
        return Err("金额超过上限（1 亿元）".into());
    }
    let yuan: i64 = int.parse().map_err(|_| "金额太大".to_string())?;
    let f: i64 = format!("{frac:0<2}").parse().unwrap_or(0);
    let fen = yuan * 100 + f;
    if fen > MAX_FEN {
        return Err("金额超过上限（1 亿元）".into());
    }
    Ok(fen)
}

/// `1234` → `"12.34"`: yuan with two decimals, as printed on notices.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let f = fen.unsigned_abs();
    format!("{sign}{}.{:02}", f / 100, f % 100)
}

fn short(v: &str) -> String {
    v.chars().take(20).collect()
}
