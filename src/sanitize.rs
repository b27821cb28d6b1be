//! Escaping text from outside (subjects, SANs, file names) before it reaches a terminal:
//! control characters and bidi overrides could rewrite what the admin sees.

/// Replaces control characters and Unicode bidi/invisible formatting characters with `\u{..}`
/// escapes; everything else, including non-ASCII letters, is kept.
pub fn escape(text: &str) -> String {
    if !text.chars().any(needs_escape) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// One CSV cell: escaped as [`escape`] does for a terminal, and neutralised when a spreadsheet
/// would evaluate it (OWASP's CSV-injection rule): a cell starting with `=`, `+`, `-`, `@`, tab
/// or carriage return gets a leading `'`. Plain integers (`-3` days left) are left as they are:
/// they cannot run anything and must stay numbers.
pub fn csv_cell(text: &str) -> std::borrow::Cow<'_, str> {
    let risky = text.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_integer(text);
    if !risky && !text.chars().any(needs_escape) {
        return std::borrow::Cow::Borrowed(text);
    }
    let escaped = escape(text);
    if risky {
        std::borrow::Cow::Owned(format!("'{escaped}"))
    } else {
        std::borrow::Cow::Owned(escaped)
    }
}

fn is_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::{csv_cell, escape};

    #[test]
    fn escapes_controls_and_bidi_only() {
        assert_eq!(escape("shop.example.com"), "shop.example.com");
        assert_eq!(escape("Zürich"), "Zürich");
        assert_eq!(escape("a\x1b[31mb"), "a\\u{1b}[31mb");
        assert_eq!(escape("evil\u{202e}moc.x"), "evil\\u{202e}moc.x");
        assert_eq!(escape("tab\there"), "tab\\u{9}here");
    }

    #[test]
    fn csv_cells_are_neutralised_and_escaped() {
        assert_eq!(csv_cell("shop.example.com"), "shop.example.com");
        assert_eq!(csv_cell("=1+2.example.com"), "'=1+2.example.com");
        assert_eq!(csv_cell("+cmd"), "'+cmd");
        assert_eq!(csv_cell("-x"), "'-x");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("\tx"), "'\\u{9}x");
        assert_eq!(csv_cell("a\x1b[31mb"), "a\\u{1b}[31mb");
        assert_eq!(csv_cell("evil\u{202e}moc"), "evil\\u{202e}moc");
        // Numbers stay numbers.
        assert_eq!(csv_cell("-3"), "-3");
        assert_eq!(csv_cell("42"), "42");
        assert_eq!(csv_cell(""), "");
    }
}
