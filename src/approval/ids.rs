//! Applicant identifiers: the 18-digit resident identity number (GB 11643-1999) and the
//! 18-character unified social credit code of organisations (GB 32100-2015), each with its
//! check character.

use jiff::civil::Date;

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// The credit code alphabet: digits and capitals without I, O, S, V, Z (easily misread).
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Why an identifier was refused, in words a window clerk can act on.
pub fn check_resident_id(id: &str) -> Result<(), String> {
    let b = id.as_bytes();
    if b.len() != 18 {
        return Err(format!(
            "居民身份证号码应为 18 位，这里是 {} 位",
            id.chars().count()
        ));
    }
    if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
        return Err("居民身份证号码前 17 位应为数字，最后一位为数字或大写 X".into());
    }
    let birth = std::str::from_utf8(&b[6..14]).unwrap_or_default();
    let date = format!("{}-{}-{}", &birth[..4], &birth[4..6], &birth[6..]);
    match date.parse::<Date>() {
        Ok(d) if d.year() >= 1800 => {}
        _ => return Err(format!("居民身份证号码中的出生日期 {birth} 不存在")),
    }
    let sum: u32 = b[..17]
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    let expected = ID_CHECK[(sum % 11) as usize];
    if b[17] != expected {
        return Err("居民身份证号码校验位不符，请核对是否输错".into());
    }
    Ok(())
}

pub fn check_credit_code(code: &str) -> Result<(), String> {
    let b = code.as_bytes();
    if b.len() != 18 {
        return Err(format!(
            "统一社会信用代码应为 18 位，这里是 {} 位",
            code.chars().count()
        ));
    }
    let mut values = [0u32; 18];
    for (i, c) in b.iter().enumerate() {
        match USCC_ALPHABET.iter().position(|a| a == c) {
            Some(v) => values[i] = v as u32,
            None => return Err("统一社会信用代码只含数字和大写字母（不含 I、O、S、V、Z）".into()),
        }
    }
    let sum: u32 = values[..17]
        .iter()
        .zip(USCC_WEIGHTS)
        .map(|(v, w)| v * w)
        .sum();
    let expected = (31 - sum % 31) % 31;
    if values[17] != expected {
        return Err("统一社会信用代码校验位不符，请核对是否输错".into());
    }
    Ok(())
}

/// Normalises (trims, upper-cases) and checks an applicant's identifier for its kind.
pub fn applicant_id(kind: &str, id: &str) -> Result<String, String> {
    let id = id.trim().to_ascii_uppercase();
    match kind {
        "person" => check_resident_id(&id).map(|_| id),
        "org" => check_credit_code(&id).map(|_| id),
        _ => Err("申请人类型只能是 person（个人）或 org（单位）".into()),
    }
}
