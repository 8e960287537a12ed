//! Messenger's limits, from Meta's Send API reference (../shared/docs/messenger-platform.md §3, §7).
//! Lengths are counted in characters (Unicode scalar values), as Meta counts them.

pub const TEXT_MAX: usize = 2000;
pub const BUTTON_TEMPLATE_TEXT_MAX: usize = 640;
pub const ELEMENT_TITLE_MAX: usize = 80;
pub const QUICK_REPLY_TITLE_MAX: usize = 20;
pub const QUICK_REPLIES_MAX: usize = 13;
pub const BUTTON_TITLE_MAX: usize = 20;
pub const BUTTONS_MAX: usize = 3;
pub const PAYLOAD_MAX: usize = 1000;
pub const METADATA_MAX: usize = 1000;
/// m.me refs: Meta allows more, we keep them well short of it.
pub const REF_MAX: usize = 250;

pub fn char_count(s: &str) -> usize {
    s.chars().count()
}

/// The characters Meta accepts in an m.me `ref`: letters, digits, `-`, `_` and `=`.
pub fn is_ref_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '=')
}

/// Checks a `ref` value; the error says what is wrong in words an admin understands.
pub fn check_ref(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if char_count(value) > REF_MAX {
        return Err(format!("must be at most {REF_MAX} characters"));
    }
    if let Some(bad) = value.chars().find(|c| !is_ref_char(*c)) {
        return Err(format!(
            "may only use letters, digits, -, _ and = (found `{bad}`)"
        ));
    }
    Ok(())
}

/// Checks a length limit; the error names the limit.
pub fn check_len(value: &str, max: usize) -> Result<(), String> {
    let n = char_count(value);
    if n > max {
        Err(format!("must be at most {max} characters ({n} now)"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_use_only_meta_characters() {
        assert!(check_ref("c_abc-DEF=").is_ok());
        assert!(check_ref("").is_err());
        assert!(check_ref("a b").unwrap_err().contains("found ` `"));
        assert!(check_ref("a.b").unwrap_err().contains("`.`"));
        assert!(check_ref(&"a".repeat(REF_MAX + 1)).is_err());
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        assert!(check_len(&"é".repeat(20), QUICK_REPLY_TITLE_MAX).is_ok());
        assert_eq!(
            check_len(&"é".repeat(21), QUICK_REPLY_TITLE_MAX).unwrap_err(),
            "must be at most 20 characters (21 now)"
        );
    }
}
