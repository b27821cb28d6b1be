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

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_controls_and_bidi_only() {
        assert_eq!(escape("shop.example.com"), "shop.example.com");
        assert_eq!(escape("Zürich"), "Zürich");
        assert_eq!(escape("a\x1b[31mb"), "a\\u{1b}[31mb");
        assert_eq!(escape("evil\u{202e}moc.x"), "evil\\u{202e}moc.x");
        assert_eq!(escape("tab\there"), "tab\\u{9}here");
    }
}
