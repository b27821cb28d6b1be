//! Which server `--zendesk` names: a bare subdomain is `https://SUB.zendesk.com`; a URL is
//! used as is (its scheme, host and port). HTTPS only, except plain HTTP to a loopback
//! address (local tests and tunnels).

use std::net::IpAddr;

use ureq::http::Uri;

/// The scheme, host and port every request of a run goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// Parses `--zendesk SUBDOMAIN|URL`.
    pub fn parse(value: &str) -> Result<Origin, String> {
        let value = value.trim();
        if !value.contains("://") {
            let ok = !value.is_empty()
                && value.len() <= 63
                && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !value.starts_with('-');
            if !ok {
                return Err(format!(
                    "--zendesk {value:?}: give the account's subdomain (acme for \
                     https://acme.zendesk.com) or its https:// URL"
                ));
            }
            return Ok(Origin {
                scheme: "https".into(),
                host: format!("{}.zendesk.com", value.to_ascii_lowercase()),
                port: 443,
            });
        }
        let uri: Uri = value
            .parse()
            .map_err(|_| format!("--zendesk {value:?}: not a URL"))?;
        Origin::of(&uri).map_err(|why| format!("--zendesk {value:?}: {why}"))
    }

    fn of(uri: &Uri) -> Result<Origin, String> {
        let scheme = uri.scheme_str().unwrap_or_default().to_ascii_lowercase();
        let host = uri
            .host()
            .ok_or("the URL has no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err("the URL holds a user name or password; give credentials in the environment instead".into());
        }
        let port = match (scheme.as_str(), uri.port_u16()) {
            (_, Some(p)) => p,
            ("https", None) => 443,
            ("http", None) => 80,
            _ => 0,
        };
        match scheme.as_str() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            "http" => return Err(
                "plain http is refused (the token would cross the network in clear); use https://"
                    .into(),
            ),
            _ => return Err("use an https:// URL".into()),
        }
        Ok(Origin { scheme, host, port })
    }

    /// The URL of `path_and_query` (starting with `/`) on this server.
    pub fn url(&self, path_and_query: &str) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default = matches!(
            (self.scheme.as_str(), self.port),
            ("https", 443) | ("http", 80)
        );
        if default {
            format!("{}://{host}{path_and_query}", self.scheme)
        } else {
            format!("{}://{host}:{}{path_and_query}", self.scheme, self.port)
        }
    }

    /// Whether `url` (e.g. a `next_page` the API sent) is on this server.
    pub fn same_origin(&self, url: &str) -> bool {
        url.parse::<Uri>()
            .ok()
            .and_then(|u| Origin::of(&u).ok())
            .is_some_and(|o| o == *self)
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url(""))
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_and_urls() {
        let o = Origin::parse("acme").unwrap();
        assert_eq!(
            o.url("/api/v2/x.json"),
            "https://acme.zendesk.com/api/v2/x.json"
        );
        let o = Origin::parse("https://127.0.0.1:8443").unwrap();
        assert_eq!(o.url("/a"), "https://127.0.0.1:8443/a");
        assert!(o.same_origin("https://127.0.0.1:8443/a?page=2"));
        assert!(!o.same_origin("https://127.0.0.1:8444/a?page=2"));
        assert!(!o.same_origin("https://evil.example/a"));
        assert!(!o.same_origin("http://127.0.0.1:8443/a"));
        assert!(Origin::parse("http://127.0.0.1:8080").is_ok());
        assert!(Origin::parse("http://[::1]:8080").is_ok());
        assert!(Origin::parse("http://localhost:8080").is_ok());
        assert!(Origin::parse("http://acme.zendesk.com")
            .unwrap_err()
            .contains("plain http is refused"));
        assert!(Origin::parse("https://u:p@acme.zendesk.com").is_err());
        assert!(Origin::parse("acme.zendesk.com").is_err());
        assert!(Origin::parse("").is_err());
    }
}
