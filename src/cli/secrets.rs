//! Which parameter values are secrets, and how they are shown.
//!
//! Invariant: the one place that decides what a secret is. Every output
//! path that prints a parameter value (config views, node attributes) asks
//! [`is_secret`] or [`shown`] first; errors and logs never print values.

/// What a masked value looks like.
pub const MASK: &str = "********";

/// Parameters named `passwd`, `password`, `*_passwd` or anything containing
/// `password` hold secrets.
pub fn is_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "passwd" || n.ends_with("_passwd") || n.contains("password")
}

/// The value as it may be printed.
pub fn shown<'a>(name: &str, value: &'a str, show_secrets: bool) -> &'a str {
    if !show_secrets && is_secret(name) {
        MASK
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for s in [
            "passwd",
            "password",
            "ipmi_passwd",
            "password_script",
            "snmp_priv_password",
            "PASSWORD",
        ] {
            assert!(is_secret(s), "{s}");
        }
        for s in ["login", "username", "pass", "passwd_file_mode"] {
            assert!(!is_secret(s), "{s}");
        }
        assert_eq!(shown("passwd", "x", false), MASK);
        assert_eq!(shown("passwd", "x", true), "x");
        assert_eq!(shown("ip", "x", false), "x");
    }
}
