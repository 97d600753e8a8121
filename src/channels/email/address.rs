//! An email address that is exactly one valid `local@domain`: lettre's [`lettre::Address`]
//! (RFC 5321 checks on the user and the domain), kept in lower case. Sender policy, replies and
//! identity work on this type, never on free strings: a value that is not one plain mailbox
//! cannot be built, so it can neither pass a policy by its domain nor reach a reply's header.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress(lettre::Address);

impl EmailAddress {
    /// `local@domain`, lower-cased; `None` for anything else (spaces, brackets, several `@`,
    /// an invalid domain...).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_lowercase();
        if s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
        {
            return None;
        }
        s.parse::<lettre::Address>().ok().map(Self)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }

    pub fn domain(&self) -> &str {
        self.0.domain()
    }

    pub fn local_part(&self) -> &str {
        self.0.user()
    }

    /// The same address as `other` (case-insensitive)?
    pub fn is(&self, other: &str) -> bool {
        self.as_str().eq_ignore_ascii_case(other.trim())
    }

    pub fn as_lettre(&self) -> &lettre::Address {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::EmailAddress;

    #[test]
    fn only_one_plain_mailbox_is_an_address() {
        let a = EmailAddress::parse(" Laura@Example.org ").unwrap();
        assert_eq!(a.as_str(), "laura@example.org");
        assert_eq!(a.domain(), "example.org");
        assert_eq!(a.local_part(), "laura");
        for bad in [
            "evil@evil.test;",
            "laura@example.org, evil@evil.test",
            "a b@example.org",
            "<x@y.it>",
            "no-at-sign",
            "a@b@c.it",
            "",
        ] {
            assert!(EmailAddress::parse(bad).is_none(), "{bad:?}");
        }
    }
}
