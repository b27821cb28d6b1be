//! The API credentials: from the environment or a file, never from the command line.
//!
//! An API token (`ZENDESK_EMAIL` + `ZENDESK_API_TOKEN`, sent as Basic `email/token:TOKEN`) or
//! an OAuth access token (`ZENDESK_OAUTH_TOKEN`, sent as Bearer). A `--auth-file` holds the
//! same names as `NAME=value` lines (`#` comments) and wins over the environment.

use std::path::Path;

use base64::Engine;
use zeroize::Zeroizing;

use crate::error::Error;

/// The variables to set, for messages.
pub const AUTH_ENV: &str = "ZENDESK_EMAIL and ZENDESK_API_TOKEN (or ZENDESK_OAUTH_TOKEN)";

pub enum Auth {
    ApiToken {
        email: String,
        token: Zeroizing<String>,
    },
    OAuth(Zeroizing<String>),
}

impl Auth {
    /// The credentials from `file` if given, else from the environment.
    pub fn resolve(file: Option<&Path>) -> Result<Auth, Error> {
        match file {
            Some(path) => {
                refuse_shared(path)?;
                let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                    Error::Usage(format!(
                        "--auth-file {}: {}",
                        path.display(),
                        crate::inventory::describe_io(&e)
                    ))
                })?);
                let lookup = |name: &str| {
                    text.lines()
                        .map(str::trim)
                        .filter(|l| !l.starts_with('#'))
                        .filter_map(|l| l.split_once('='))
                        .find(|(k, _)| k.trim().trim_start_matches("export ").trim() == name)
                        .map(|(_, v)| Zeroizing::new(v.trim().trim_matches(['"', '\'']).to_owned()))
                        .filter(|v| !v.is_empty())
                };
                Auth::from_lookup(lookup, &format!("--auth-file {}", path.display()))
            }
            None => Auth::from_lookup(
                |name| {
                    std::env::var(name)
                        .ok()
                        .filter(|v| !v.is_empty())
                        .map(Zeroizing::new)
                },
                "the environment",
            ),
        }
    }

    fn from_lookup(
        lookup: impl Fn(&str) -> Option<Zeroizing<String>>,
        place: &str,
    ) -> Result<Auth, Error> {
        if let Some(token) = lookup("ZENDESK_OAUTH_TOKEN") {
            return Ok(Auth::OAuth(token));
        }
        match (lookup("ZENDESK_EMAIL"), lookup("ZENDESK_API_TOKEN")) {
            (Some(email), Some(token)) => Ok(Auth::ApiToken {
                email: email.to_string(),
                token,
            }),
            (Some(_), None) => Err(Error::Usage(format!(
                "ZENDESK_EMAIL is set in {place} but ZENDESK_API_TOKEN is not: set both, or ZENDESK_OAUTH_TOKEN"
            ))),
            (None, Some(_)) => Err(Error::Usage(format!(
                "ZENDESK_API_TOKEN is set in {place} but ZENDESK_EMAIL is not: an API token is used with its user's address"
            ))),
            (None, None) => Err(Error::Usage(format!(
                "no API credentials in {place}: set {AUTH_ENV}, or give --auth-file FILE \
                 with those lines (never on the command line)"
            ))),
        }
    }

    /// The `Authorization` header value.
    pub fn header(&self) -> Zeroizing<String> {
        match self {
            Auth::ApiToken { email, token } => {
                let raw = Zeroizing::new(format!("{email}/token:{}", token.as_str()));
                Zeroizing::new(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw.as_bytes())
                ))
            }
            Auth::OAuth(token) => Zeroizing::new(format!("Bearer {}", token.as_str())),
        }
    }
}

/// Refuses an auth file that others can read, as ssh does with keys: the token would be
/// theirs too.
#[cfg(unix)]
fn refuse_shared(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    let mode = std::fs::metadata(path)
        .map_err(|e| {
            Error::Usage(format!(
                "--auth-file {shown}: {}",
                crate::inventory::describe_io(&e)
            ))
        })?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(Error::Usage(format!(
            "--auth-file {shown}: other users can read it (mode {:04o}); run chmod 600 {shown}",
            mode & 0o7777
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_shared(_: &Path) -> Result<(), Error> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let auth = Auth::ApiToken {
            email: "a@example.com".into(),
            token: Zeroizing::new("T0K".into()),
        };
        // base64("a@example.com/token:T0K")
        assert_eq!(
            auth.header().as_str(),
            "Basic YUBleGFtcGxlLmNvbS90b2tlbjpUMEs="
        );
        let auth = Auth::OAuth(Zeroizing::new("abc".into()));
        assert_eq!(auth.header().as_str(), "Bearer abc");
    }
}
