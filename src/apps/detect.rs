//! Which settings of an app installation hold credentials, and how their values are masked.
//!
//! A value is a credential when its setting's name says so (`api_token`, `clientSecret`), or
//! when it is a URL carrying one (`https://user:pass@host`, `?token=…`, `#access_token=…`).
//! Objects and arrays are walked (`oauth.client_secret`, `tokens[0]`, `hooks[1].api_key`).
//! Values are masked at once and never kept whole beyond this module.

use serde::Serialize;
use serde_json::Value;
use zeroize::Zeroizing;

/// Word parts that make a setting name a credential (compared case-insensitively).
const CREDENTIAL_WORDS: &[&str] = &[
    "token",
    "tokens",
    "key",
    "keys",
    "apikey",
    "secret",
    "secrets",
    "password",
    "passwords",
    "passwd",
    "pwd",
    "passphrase",
    "credential",
    "credentials",
    "auth",
    "authorization",
];

/// Endings that make one word part a credential on their own (`accesstoken`,
/// `webhooksecret`). `key` and `auth` are not among them: `monkey`, `author`.
const CREDENTIAL_SUFFIXES: &[&str] = &["token", "secret", "password", "passphrase"];

/// Extra word parts that make a URL query or fragment parameter a credential: signed URLs
/// (`?sig=`, `X-Amz-Signature=`). Not used for setting names, where `signature` is often an
/// e-mail signature.
const URL_PARAM_WORDS: &[&str] = &["sig", "signature"];

/// A user name alone in a URL (`https://TOKEN@host`) of at least this many characters is
/// taken to be a token; shorter ones (`git@`, `deploy@`) are account names.
const URL_USER_TOKEN_MIN: usize = 16;

/// How deep nested objects and arrays are walked; deeper values are judged whole.
const MAX_DEPTH: usize = 8;

/// Whether a setting name names a credential.
///
/// The name is cut into word parts at every character that is not a letter or digit
/// (`api_token`, `auth-header`, `oauth.client_secret`) and at camel-case humps (`apiKey`,
/// `clientSecret`, `APIKey` → `API`, `Key`). It is a credential if any part, lower-cased,
/// is one of [`CREDENTIAL_WORDS`] or ends with one of [`CREDENTIAL_SUFFIXES`]. So
/// `api_token`, `apiKey`, `clientSecret`, `password`, `auth_header` match, and `author`,
/// `keyboard_layout`, `monkey`, `tokenizer_mode` do not.
pub fn is_credential_name(name: &str) -> bool {
    word_parts(name).iter().any(|part| {
        let part = part.to_lowercase();
        CREDENTIAL_WORDS.contains(&part.as_str())
            || CREDENTIAL_SUFFIXES.iter().any(|s| part.ends_with(s))
    })
}

/// Whether a URL query or fragment parameter carries a credential: a credential name, or a
/// signature (`sig`, `X-Amz-Signature`).
fn is_credential_param(name: &str) -> bool {
    is_credential_name(name)
        || word_parts(name)
            .iter()
            .any(|p| URL_PARAM_WORDS.contains(&p.to_lowercase().as_str()))
}

fn word_parts(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut parts = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                parts.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1);
        let hump = c.is_uppercase()
            && prev.is_some_and(|p| {
                p.is_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
            });
        if hump && !current.is_empty() {
            parts.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// A credential value, masked: at most its last 4 characters, fewer for short values, and
/// nothing but the length for values of 8 characters or fewer.
///
/// | length | shown |
/// |---|---|
/// | 0 | `(empty)` |
/// | 1–8 | `(N chars)` |
/// | 9–15 | `****` + last 2, `(N chars)` |
/// | 16+ | `****` + last 4, `(N chars)` |
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    let shown = match n {
        0 => return "(empty)".into(),
        1..=8 => 0,
        9..=15 => 2,
        _ => 4,
    };
    let tail: String = chars[n - shown..].iter().collect();
    if shown == 0 {
        format!("({n} chars)")
    } else {
        format!("****{tail} ({n} chars)")
    }
}

/// Where a credential was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingSource {
    Settings,
    SettingsObjects,
}

/// One credential found: where, and its masked value.
#[derive(Clone, Debug, Serialize)]
pub struct Credential {
    /// The setting's name; nested parts joined by `.`, array items as `[i]`, and a credential
    /// inside a URL value as `name@password`, `name@user`, `name?param` or `name#param`.
    pub name: String,
    pub source: SettingSource,
    pub masked: String,
}

/// The credentials in one installation's `settings` (nested objects by dotted name) and
/// `settings_objects` (`[{name, value}]`). Empty, null and boolean values hold no secret.
/// A setting found in both with the same value (vendors mirror them) is listed once.
pub fn credentials(installation: &Value) -> Vec<Credential> {
    let mut found = Found::default();
    if let Some(settings) = installation.get("settings").and_then(Value::as_object) {
        for (name, value) in settings {
            found.walk(name, value, SettingSource::Settings, 0);
        }
    }
    if let Some(objects) = installation
        .get("settings_objects")
        .and_then(Value::as_array)
    {
        for o in objects {
            if let Some(name) = o.get("name").and_then(Value::as_str) {
                let value = o.get("value").unwrap_or(&Value::Null);
                found.walk(name, value, SettingSource::SettingsObjects, 0);
            }
        }
    }
    found.out
}

/// The credentials found so far, and the (name, value) pairs already listed; the values are
/// zeroized when this is dropped.
#[derive(Default)]
struct Found {
    seen: Vec<(String, Zeroizing<String>)>,
    out: Vec<Credential>,
}

impl Found {
    fn walk(&mut self, name: &str, value: &Value, source: SettingSource, depth: usize) {
        let text = match value {
            Value::Object(map) if depth < MAX_DEPTH => {
                // `{"name": "Authorization", "value": "…"}` inside an array names its value.
                if let (Some(pair_name), Some(v)) = (pair_name(map), map.get("value")) {
                    self.walk(&format!("{name}.{pair_name}"), v, source, depth + 1);
                    return;
                }
                for (k, v) in map {
                    self.walk(&format!("{name}.{k}"), v, source, depth + 1);
                }
                return;
            }
            Value::Array(items) if depth < MAX_DEPTH => {
                for (i, v) in items.iter().enumerate() {
                    self.walk(&format!("{name}[{i}]"), v, source, depth + 1);
                }
                return;
            }
            Value::Null | Value::Bool(_) => return,
            Value::String(s) => Zeroizing::new(s.clone()),
            other => Zeroizing::new(other.to_string()),
        };
        if text.is_empty() {
            return;
        }
        if is_credential_name(name) {
            self.push(name.to_owned(), text, source);
            return;
        }
        for (part, secret) in url_secrets(&text) {
            self.push(format!("{name}{part}"), secret, source);
        }
    }

    fn push(&mut self, name: String, value: Zeroizing<String>, source: SettingSource) {
        if self.seen.iter().any(|(n, v)| *n == name && *v == value) {
            return;
        }
        self.out.push(Credential {
            name: name.clone(),
            source,
            masked: mask(&value),
        });
        self.seen.push((name, value));
    }
}

/// The `name` (or `key`) of a `{name, value}` pair object, if it is one.
fn pair_name(map: &serde_json::Map<String, Value>) -> Option<&str> {
    if !map.contains_key("value") {
        return None;
    }
    ["name", "key"]
        .iter()
        .find_map(|k| map.get(*k).and_then(Value::as_str))
        .filter(|n| !n.is_empty())
}

/// Credentials inside the URLs in `text`: the password of `scheme://user:pass@host`, a long
/// user name alone (`https://TOKEN@host`), and query or fragment parameters named like a
/// credential or a signature (`?token=…`, `&api_key=…`, `#access_token=…`, `?sig=…`). Each comes with the
/// suffix that names it (`@password`, `@user`, `?token`, `#access_token`).
pub fn url_secrets(text: &str) -> Vec<(String, Zeroizing<String>)> {
    url_secret_spans(text)
        .into_iter()
        .map(|(name, span)| (name, Zeroizing::new(text[span].to_owned())))
        .collect()
}

/// [`url_secrets`], as byte ranges of `text`.
fn url_secret_spans(text: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("://").map(|i| from + i) {
        from = at + 3;
        let scheme_start = text[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)))
            .map_or(0, |i| i + 1);
        if scheme_start == at {
            continue;
        }
        let start = at + 3;
        let rest = &text[start..];
        let end = rest
            .find(|c: char| c.is_whitespace() || "\"'<>`".contains(c))
            .unwrap_or(rest.len());
        let url = &rest[..end];
        let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
        let authority = &url[..authority_end];
        if let Some(at_sign) = authority.rfind('@') {
            let userinfo = &authority[..at_sign];
            match userinfo.find(':') {
                Some(colon) if colon + 1 < userinfo.len() => {
                    out.push(("@password".to_owned(), start + colon + 1..start + at_sign));
                }
                None if userinfo.chars().count() >= URL_USER_TOKEN_MIN => {
                    out.push(("@user".to_owned(), start..start + at_sign));
                }
                _ => {}
            }
        }
        // Parameters: `?a=b&c=d` before any `#`, then `#e=f&…` after it.
        let tail_start = start + authority_end;
        let tail = &url[authority_end..];
        let fragment_at = tail.find('#');
        let query_at = tail
            .find('?')
            .filter(|q| fragment_at.is_none_or(|f| *q < f));
        let mut sections = Vec::new();
        if let Some(q) = query_at {
            sections.push(("?", q + 1, fragment_at.unwrap_or(tail.len())));
        }
        if let Some(f) = fragment_at {
            sections.push(("#", f + 1, tail.len()));
        }
        for (mark, lo, hi) in sections {
            let mut pos = lo;
            for pair in tail[lo..hi].split(['&', ';']) {
                if let Some(eq) = pair.find('=') {
                    let (k, v) = (&pair[..eq], &pair[eq + 1..]);
                    if !v.is_empty() && is_credential_param(k) {
                        let vstart = tail_start + pos + eq + 1;
                        out.push((format!("{mark}{k}"), vstart..vstart + v.len()));
                    }
                }
                pos += pair.len() + 1;
            }
        }
        from = start + end;
    }
    out
}

/// `text` with every credential inside its URLs replaced by its mask.
pub fn mask_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (_, span) in url_secret_spans(text) {
        out.push_str(&text[last..span.start]);
        out.push_str(&mask(&text[span.clone()]));
        last = span.end;
    }
    out.push_str(&text[last..]);
    out
}

/// A copy of a page with every credential masked as the report masks it, for `--save-raw`:
/// inside an installation's `settings` and `settings_objects`, every value the report lists
/// as a credential; elsewhere, values whose own key is named like a credential (`token`);
/// and everywhere, credentials inside URLs.
pub fn mask_json(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let masked = match (k.as_str(), v) {
                        ("settings", Value::Object(settings)) => Value::Object(
                            settings
                                .iter()
                                .map(|(name, v)| (name.clone(), mask_named(name, v, 0)))
                                .collect(),
                        ),
                        ("settings_objects", Value::Array(objects)) => Value::Array(
                            objects
                                .iter()
                                .map(|o| match (o.get("name").and_then(Value::as_str), o) {
                                    (Some(name), Value::Object(pair)) => Value::Object(
                                        pair.iter()
                                            .map(|(pk, pv)| {
                                                let pv = if pk == "value" {
                                                    mask_named(name, pv, 0)
                                                } else {
                                                    mask_json(pv)
                                                };
                                                (pk.clone(), pv)
                                            })
                                            .collect(),
                                    ),
                                    _ => mask_json(o),
                                })
                                .collect(),
                        ),
                        (k, Value::String(s)) if is_credential_name(k) && !s.is_empty() => {
                            Value::String(mask(s))
                        }
                        _ => mask_json(v),
                    };
                    (k.clone(), masked)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(mask_json).collect()),
        Value::String(s) => Value::String(mask_urls(s)),
        other => other.clone(),
    }
}

/// A setting's value masked by the walker's rules (full dotted names, `[i]`, pairs).
fn mask_named(name: &str, value: &Value, depth: usize) -> Value {
    match value {
        Value::Object(map) if depth < MAX_DEPTH => {
            let pair = pair_name(map).map(str::to_owned);
            Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let child = match (&pair, k.as_str()) {
                            (Some(p), "value") => format!("{name}.{p}"),
                            _ => format!("{name}.{k}"),
                        };
                        (k.clone(), mask_named(&child, v, depth + 1))
                    })
                    .collect(),
            )
        }
        Value::Array(items) if depth < MAX_DEPTH => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| mask_named(&format!("{name}[{i}]"), v, depth + 1))
                .collect(),
        ),
        Value::Null | Value::Bool(_) => value.clone(),
        Value::String(s) if s.is_empty() => value.clone(),
        Value::String(s) if is_credential_name(name) => Value::String(mask(s)),
        Value::String(s) => Value::String(mask_urls(s)),
        other if is_credential_name(name) => Value::String(mask(&other.to_string())),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_names() {
        let table = [
            ("api_token", true),
            ("apiKey", true),
            ("APIKey", true),
            ("api-key", true),
            ("apikey", true),
            ("clientSecret", true),
            ("client_secret", true),
            ("password", true),
            ("Password", true),
            ("smtp_passwd", true),
            ("passphrase", true),
            ("auth_header", true),
            ("basicAuth", true),
            ("credentials", true),
            ("accessToken", true),
            ("webhooksecret", true),
            ("oauth.client_secret", true),
            ("TOKEN", true),
            ("tokens[0]", true),
            ("hooks[1].api_key", true),
            ("author", false),
            ("keyboard_layout", false),
            ("monkey", false),
            ("tokenizer_mode", false),
            ("subdomain", false),
            ("oauth", false),
            ("keystone_url", false),
            ("signature", false),
            ("", false),
        ];
        for (name, want) in table {
            assert_eq!(is_credential_name(name), want, "{name:?}");
        }
    }

    #[test]
    fn word_parts_split_at_separators_and_humps() {
        assert_eq!(word_parts("apiKey"), ["api", "Key"]);
        assert_eq!(word_parts("APIKey"), ["API", "Key"]);
        assert_eq!(word_parts("oauth2Token"), ["oauth2", "Token"]);
        assert_eq!(word_parts("a__b-c.d"), ["a", "b", "c", "d"]);
    }

    #[test]
    fn masking_never_shows_more_than_four_characters() {
        let table = [
            ("", "(empty)"),
            ("abc", "(3 chars)"),
            ("12345678", "(8 chars)"),
            ("123456789", "****89 (9 chars)"),
            ("abcdefghijklmno", "****no (15 chars)"),
            ("abcdefghijklmnop", "****mnop (16 chars)"),
            ("sk_live_0123456789abcdef", "****cdef (24 chars)"),
            ("pässwörter-und-mehr", "****mehr (19 chars)"),
        ];
        for (value, want) in table {
            assert_eq!(mask(value), want, "{value:?}");
        }
    }

    fn secrets(text: &str) -> Vec<(String, String)> {
        url_secrets(text)
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect()
    }

    #[test]
    fn credentials_inside_urls() {
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(
            secrets("https://bot:s3cr3t-pa55@hooks.example.com/x"),
            [pair("@password", "s3cr3t-pa55")]
        );
        assert_eq!(
            secrets("https://hooks.example.com/x?channel=ops&token=abc123&api_key=k9#frag"),
            [pair("?token", "abc123"), pair("?api_key", "k9")]
        );
        assert_eq!(
            secrets("https://app.example.com/cb#access_token=tok&state=1"),
            [pair("#access_token", "tok")]
        );
        assert_eq!(
            secrets("https://ghp_0123456789abcdefghij@github.com/acme/x.git"),
            [pair("@user", "ghp_0123456789abcdefghij")]
        );
        assert_eq!(
            secrets("see https://a.example/?sig=zz and ftp://u:p@ftp.example/"),
            [pair("?sig", "zz"), pair("@password", "p")]
        );
        // Nothing secret: an account name, an empty password, a plain link, no scheme.
        for plain in [
            "ssh://git@github.com/acme/x.git",
            "https://user:@example.com/",
            "https://example.com/docs?page=2&tokenizer=x",
            "mailto:ops@example.com?subject=token",
            "://x:y@z",
            "",
        ] {
            assert!(secrets(plain).is_empty(), "{plain}");
        }
    }

    #[test]
    fn saved_pages_hold_no_credential_the_report_lists() {
        let page = serde_json::json!({"installations": [{"id": 1,
            "settings": {"tokens": ["first-token-value-0001"], "name": "Sync",
                "hook": "https://u:url-password-0002@h.example/x?token=url-token-0003&a=1"},
            "settings_objects": [{"name": "headers", "value": [{"name": "Authorization", "value": "Bearer v-0004-abcdefgh"}]},
                {"name": "api_key", "value": "pair-key-value-0005"}]}],
            "api_tokens": [{"id": 7, "token": "raw-token-0006-abcdef", "created_at": "2015-01-01T00:00:00Z"}],
            "next_page": "https://acme.zendesk.com/api/v2/x.json?page=2"});
        let text = mask_json(&page).to_string();
        for secret in [
            "first-token",
            "url-password",
            "url-token",
            "v-0004",
            "pair-key",
            "raw-token",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        for kept in [
            "Sync",
            "2015-01-01T00:00:00Z",
            "?page=2",
            "&a=1",
            "https://u:",
            "****03 (14 chars)",
        ] {
            assert!(text.contains(kept), "{kept} missing from {text}");
        }
    }

    #[test]
    fn arrays_pairs_and_urls_in_settings() {
        let inst = serde_json::json!({"settings": {
            "tokens": ["first-token-value-0001", "second-token-value-0002"],
            "hooks": [{"url": "https://x.example/h", "api_key": "hook-key-value-0003"}],
            "headers": [{"name": "Authorization", "value": "Bearer header-value-0004"}],
            "webhook_url": "https://bot:url-password-0005@hooks.example.com/in?token=url-token-0006",
            "labels": ["a", "b"],
            "flags": [true, null]
        }});
        let found: Vec<(String, String)> = credentials(&inst)
            .into_iter()
            .map(|c| (c.name, c.masked))
            .collect();
        let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "headers[0].Authorization",
                "hooks[0].api_key",
                "tokens[0]",
                "tokens[1]",
                "webhook_url@password",
                "webhook_url?token",
            ]
        );
        for (_, masked) in &found {
            assert!(!masked.contains("value") && !masked.contains("password"));
        }
        assert_eq!(found[0].1, "****0004 (24 chars)");
    }
}
