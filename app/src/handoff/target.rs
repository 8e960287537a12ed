//! Which addresses a hook may have. What it sends names people (their PSID on the Page), so it
//! goes encrypted: https only. Plain http is allowed for a loopback host (`localhost`,
//! `127.0.0.1`, `[::1]`) in development (`APP_MODE=development`), where the organiser tries a
//! receiver on their own machine. Addresses that only make sense inside the server's own network
//! and no organiser's tool has (link-local, such as a cloud's metadata service, or unspecified)
//! are refused whatever the mode.

use std::net::IpAddr;
use url::{Host, Url};

/// The longest address a hook may have, in characters.
pub const URL_MAX: usize = 2000;

/// The address the admin typed, checked; or the sentence that says what is wrong with it.
pub fn check(raw: &str, development: bool) -> Result<Url, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("Type the address your tool receives events at (https://…).".into());
    }
    let length = raw.chars().count();
    if length > URL_MAX {
        return Err(format!(
            "This address is {length} characters long; a webhook address can have at most {URL_MAX}."
        ));
    }
    let url = Url::parse(raw).map_err(|e| format!("This is not a web address ({e})."))?;
    let host = match url.host() {
        Some(host) => host,
        None => return Err("This address names no host (https://your-tool.example/…).".into()),
    };
    match url.scheme() {
        "https" => {}
        "http" if development && loopback(&host) => {}
        "http" if loopback(&host) => {
            return Err(
                "Plain http is allowed only for localhost while developing: use https://.".into(),
            )
        }
        _ => {
            return Err(format!(
                "A webhook address must start with https:// (it carries people's ids), not {}://. \
                 Plain http is allowed only for localhost while developing.",
                url.scheme()
            ))
        }
    }
    let ip = match host {
        Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        Host::Domain(_) => None,
    };
    if let Some(ip) = ip.filter(|ip| inside_only(*ip)) {
        return Err(format!(
            "{ip} is an address no tool outside this server can have (link-local or unspecified)."
        ));
    }
    if url.fragment().is_some() {
        return Err("Remove the part after # from the address: it is never sent.".into());
    }
    Ok(url)
}

fn loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => {
            let name = name.to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

fn inside_only(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => ip.is_link_local() || ip.is_unspecified() || ip.is_broadcast(),
        IpAddr::V6(ip) => ip.is_unspecified() || (ip.segments()[0] & 0xffc0) == 0xfe80,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_addresses_pass_and_others_say_why_not() {
        for good in [
            "https://hooks.example.com/giveaway",
            "  https://example.com:8443/a?b=c  ",
            "https://203.0.113.7/in",
        ] {
            assert!(check(good, false).is_ok(), "{good}");
        }
        let refused = |raw: &str, dev: bool| check(raw, dev).unwrap_err();
        assert!(refused("", false).contains("Type the address"));
        assert!(refused("http://example.com/hook", false).contains("must start with https://"));
        assert!(refused("http://example.com/hook", true).contains("must start with https://"));
        assert!(refused("ftp://example.com/hook", true).contains("not ftp://"));
        assert!(refused("example.com/hook", false).contains("not a web address"));
        assert!(refused("https://169.254.169.254/latest", false).contains("link-local"));
        assert!(refused("https://[fe80::1]/x", false).contains("link-local"));
        assert!(refused("https://0.0.0.0/x", false).contains("unspecified"));
        assert!(refused("https://example.com/a#b", false).contains("after #"));
        let long = format!("https://example.com/{}", "a".repeat(URL_MAX));
        assert!(refused(&long, false).contains("at most 2000"));
        let just = format!("https://example.com/{}", "a".repeat(URL_MAX - 20));
        assert_eq!(just.len(), URL_MAX);
        assert!(check(&just, false).is_ok());
    }

    #[test]
    fn plain_http_only_for_localhost_in_development() {
        for local in [
            "http://localhost:9000/hook",
            "http://127.0.0.1:9000/hook",
            "http://[::1]:9000/hook",
            "http://tool.localhost/hook",
        ] {
            assert!(check(local, true).is_ok(), "{local}");
            assert!(check(local, false)
                .unwrap_err()
                .contains("only for localhost"));
        }
        assert!(check("http://10.0.0.5/hook", true).is_err());
    }
}
