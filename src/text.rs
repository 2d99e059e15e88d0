//! Checks of free-text form fields shared by every part: each part wraps them into its own
//! error type, naming the field.

/// A trimmed single-line text of up to `max` characters (empty allowed unless `required`).
/// Control characters are refused: they have no business in a title and hide things in logs.
pub fn line(v: &str, max: usize, required: bool) -> Result<String, String> {
    checked(v, max, required, |c| c.is_control())
}

/// A trimmed multi-line text of up to `max` characters: line breaks and tabs allowed, other
/// control characters refused.
pub fn multiline(v: &str, max: usize, required: bool) -> Result<String, String> {
    checked(v, max, required, |c| {
        c.is_control() && !matches!(c, '\n' | '\r' | '\t')
    })
}

fn checked(
    v: &str,
    max: usize,
    required: bool,
    refused: impl Fn(char) -> bool,
) -> Result<String, String> {
    let v = v.trim();
    if required && v.is_empty() {
        return Err("不能为空".into());
    }
    if v.chars().count() > max {
        return Err(format!("不能超过 {max} 个字"));
    }
    if v.chars().any(refused) {
        return Err("含有不可见的控制字符".into());
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_multilines() {
        assert_eq!(line("  标题 ", 10, true).unwrap(), "标题");
        assert_eq!(line(" ", 10, true).unwrap_err(), "不能为空");
        assert_eq!(line("", 10, false).unwrap(), "");
        assert!(line("一二三", 2, true).unwrap_err().contains("2"));
        assert!(line("a\nb", 10, true).is_err());
        assert_eq!(multiline("a\nb\tc", 10, true).unwrap(), "a\nb\tc");
        assert!(multiline("a\u{7}b", 10, true).is_err());
    }
}
