//! Post links the API hands out: only `http://` and `https://` URLs.
//!
//! Guarantees: a post's `url` leaves the API (JSON, CSV, the CLI, the dashboard) only when it is
//! an absolute `http` or `https` URL with a host and no whitespace or control characters; any
//! other value (`javascript:`, `data:`, `vbscript:`, relative paths, scheme-relative `//host`,
//! text with spaces) becomes null, so a hostile feed or webhook cannot plant a script link. The
//! dashboard applies the same rule again when it renders (`assets/app.js`, `webUrl`).

use tidewatch_store::StoredPost;

/// Whether `url` is an absolute http(s) URL with a host.
pub(crate) fn is_web_url(url: &str) -> bool {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let lower = url.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or("");
    !host.is_empty() && !host.starts_with(':')
}

/// Drops every post URL that is not a web URL.
pub(crate) fn strip_unsafe_urls(posts: &mut [StoredPost]) {
    for post in posts {
        if post.url.as_deref().is_some_and(|url| !is_web_url(url)) {
            metrics::counter!("tidewatch_api_unsafe_urls_dropped_total").increment(1);
            post.url = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_absolute_web_urls_pass() {
        for good in [
            "https://mastodon.social/@a/1",
            "http://example.com",
            "HTTPS://Example.COM/x?y#z",
            "https://user@host:8443/path",
        ] {
            assert!(is_web_url(good), "{good}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            " javascript:alert(1)",
            "java\tscript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox",
            "//evil.example/x",
            "/relative",
            "https://",
            "https:///path",
            "https://a b",
            "http:evil",
            "",
        ] {
            assert!(!is_web_url(bad), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn nothing_but_http_or_https_passes(url in "\\PC{0,40}") {
            if is_web_url(&url) {
                let lower = url.to_ascii_lowercase();
                prop_assert!(lower.starts_with("http://") || lower.starts_with("https://"));
            }
        }
    }
}
