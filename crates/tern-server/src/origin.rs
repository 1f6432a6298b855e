//! Which web pages may open a signaling WebSocket. A browser sends the
//! page's origin with the upgrade (RFC 6455 §4.1 item 8, RFC 6454); without
//! a check, any page a visitor opens could drive signaling from their
//! browser. Clients that are not browsers (the tern CLI) send no `Origin`
//! and are let through: the check protects browsers' users, not the server.

/// Whether an upgrade with `origin` (its `Origin` header, if any) to the
/// server reached as `host` (its `Host` header) is allowed: no origin, the
/// same host (RFC 6454 §4: scheme, host and port; the port must match the
/// `Host` header's, so the page is served by this server), or one of
/// `allowed` (full origins like `https://app.example.com`, or `*` for any).
pub(crate) fn allowed(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    if allowed
        .iter()
        .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let Some(host) = host else {
        return false;
    };
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false; // "null" (a sandboxed page or a file) among others
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return false,
    };
    // Browsers leave the default port out of Origin; a Host header may or
    // may not carry it.
    let norm = |a: &str| -> String {
        let a = a.to_ascii_lowercase();
        a.strip_suffix(default_port)
            .map(str::to_string)
            .unwrap_or(a)
    };
    norm(authority) == norm(host)
}

#[cfg(test)]
mod tests {
    use super::allowed;

    #[test]
    fn same_origin_configured_origins_and_no_origin_pass() {
        let none: &[String] = &[];
        assert!(allowed(None, Some("h:8080"), none));
        assert!(allowed(Some("http://h:8080"), Some("h:8080"), none));
        assert!(allowed(
            Some("https://Example.com"),
            Some("example.com:443"),
            none
        ));
        assert!(allowed(
            Some("http://example.com"),
            Some("example.com"),
            none
        ));
        assert!(!allowed(Some("http://evil.example"), Some("h:8080"), none));
        assert!(!allowed(Some("http://h:9090"), Some("h:8080"), none));
        assert!(!allowed(Some("http://h:8080.evil"), Some("h:8080"), none));
        assert!(!allowed(Some("null"), Some("h:8080"), none));
        assert!(!allowed(Some("http://h:8080"), None, none));
        let list = vec!["https://app.example.com/".to_string()];
        assert!(allowed(Some("https://app.example.com"), Some("h"), &list));
        assert!(!allowed(Some("http://app.example.com"), Some("h"), &list));
        assert!(allowed(Some("null"), Some("h"), &["*".to_string()]));
    }
}
