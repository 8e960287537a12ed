//! Where a view or a tap came from, read from the request alone: the source (entry page or
//! widget), the link's `utm_source`, and for the widget the embedding site's origin (which
//! `widget.js` adds to the frame's address as `site`, else the frame request's `Referer`). A
//! tap is read from the `Referer` of the form's page (the same origin, so the browser sends it
//! whole): the entry page's HTML stays one copy for everyone.

use crate::entries::{Attribution, EntrySource};
use axum::http::{header, HeaderMap};

/// Longest `utm_source` counted; longer ones are cut.
const MAX_TAG: usize = 40;
/// Longest origin counted; longer ones are not counted as an origin.
const MAX_ORIGIN: usize = 100;

/// A `utm_source` as counted: lower case, letters, digits, `.`, `_` and `-` only (others are
/// dropped), at most 40 characters.
pub fn tag(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(MAX_TAG)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// `https://shop.example` of an http(s) address; '' for anything else.
pub fn origin_of(address: &str) -> String {
    match url::Url::parse(address) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {
            let origin = u.origin().ascii_serialization();
            if origin.len() <= MAX_ORIGIN {
                origin
            } else {
                String::new()
            }
        }
        _ => String::new(),
    }
}

fn param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn referer(headers: &HeaderMap) -> Option<url::Url> {
    headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| url::Url::parse(v).ok())
}

/// Where a request with the address query `query` came from; for the widget, `referer` (the
/// embedding page's address) names the site when the address does not.
fn from_query(source: EntrySource, query: &str, referer: Option<url::Url>) -> Attribution {
    let origin = match source {
        EntrySource::Widget => param(query, "site")
            .map(|s| origin_of(&s))
            .or_else(|| referer.map(|r| origin_of(r.as_str())))
            .unwrap_or_default(),
        _ => String::new(),
    };
    Attribution {
        source,
        origin,
        utm_source: param(query, "utm_source")
            .map(|t| tag(&t))
            .unwrap_or_default(),
    }
}

/// A view of the entry page or the widget's frame, `query` its address's query.
pub fn of_view(source: EntrySource, query: Option<&str>, headers: &HeaderMap) -> Attribution {
    from_query(source, query.unwrap_or(""), referer(headers))
}

/// A tap (the Subscribe form sent): attributed like the view of the page the form was on.
pub fn of_form(source: EntrySource, headers: &HeaderMap) -> Attribution {
    let page = referer(headers);
    let query = page.as_ref().and_then(|p| p.query()).unwrap_or("");
    from_query(source, query, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_short_plain_words() {
        assert_eq!(tag("Newsletter"), "newsletter");
        assert_eq!(tag("<b>fb ads</b>"), "bfbadsb");
        assert_eq!(tag(&"x".repeat(100)).len(), MAX_TAG);
    }

    #[test]
    fn an_origin_is_a_scheme_and_host_of_the_web() {
        assert_eq!(
            origin_of("https://shop.example/a/b?c=1"),
            "https://shop.example"
        );
        assert_eq!(
            origin_of("http://localhost:8080/x"),
            "http://localhost:8080"
        );
        assert_eq!(origin_of("javascript:alert(1)"), "");
        assert_eq!(origin_of("not an address"), "");
    }

    #[test]
    fn the_widget_names_its_site_and_the_form_is_read_from_its_page() {
        let mut headers = HeaderMap::new();
        let view = of_view(
            EntrySource::Widget,
            Some("site=https%3A%2F%2Fshop.example&utm_source=Insta"),
            &headers,
        );
        assert_eq!(view.origin, "https://shop.example");
        assert_eq!(view.utm_source, "insta");
        headers.insert(
            header::REFERER,
            "https://giveaway.example/embed/demo?site=https%3A%2F%2Fshop.example&utm_source=insta"
                .parse()
                .unwrap(),
        );
        assert_eq!(of_form(EntrySource::Widget, &headers), view);
        let page = of_form(EntrySource::Page, &headers);
        assert_eq!(
            (page.origin.as_str(), page.utm_source.as_str()),
            ("", "insta")
        );
    }
}
