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
/// credential (`?token=…`, `&api_key=…`, `#access_token=…`, `?sig=…`). Each comes with the
/// suffix that names it (`@password`, `@user`, `?token`, `#access_token`).
pub fn url_secrets(text: &str) -> Vec<(String, Zeroizing<String>)> {
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
        let rest = &text[at + 3..];
        let end = rest
            .find(|c: char| c.is_whitespace() || "\"'<>`".contains(c))
            .unwrap_or(rest.len());
        let url = &rest[..end];
        let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
        let authority = &url[..authority_end];
        if let Some(userinfo) = authority.rfind('@').map(|i| &authority[..i]) {
            match userinfo.split_once(':') {
                Some((_, password)) if !password.is_empty() => {
                    out.push(("@password".to_owned(), Zeroizing::new(password.to_owned())));
                }
                None if userinfo.chars().count() >= URL_USER_TOKEN_MIN => {
                    out.push(("@user".to_owned(), Zeroizing::new(userinfo.to_owned())));
                }
                _ => {}
            }
        }
        let tail = &url[authority_end..];
        let (before_fragment, fragment) = match tail.split_once('#') {
            Some((b, f)) => (b, Some(f)),
            None => (tail, None),
        };
        let query = before_fragment.split_once('?').map(|(_, q)| q);
        for (mark, params) in [("?", query), ("#", fragment)] {
            for pair in params.into_iter().flat_map(|p| p.split(['&', ';'])) {
                if let Some((k, v)) = pair.split_once('=') {
                    if !v.is_empty() && is_credential_param(k) {
                        out.push((format!("{mark}{k}"), Zeroizing::new(v.to_owned())));
                    }
                }
            }
        }
        from = at + 3 + end;
    }
    out
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
