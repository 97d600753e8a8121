//! The mark on our own email: a keyed token (HMAC-SHA256 with a key made by the migration and
//! kept in the database, `local_secrets.email_mark`) in every Message-ID we send and in our
//! `X-Connecting-Mark` header. Only whoever holds the key can make it, so our own messages are
//! recognised by the mark, never by a domain a colleague's mail server may use too.
//!
//! Every email payload is marked when it is queued ([`crate::store::Tx::enqueue`]), so no writer
//! of the outbox can forget it; the intake verifies marks with [`MarkKey::verifies`]. Pure apart
//! from the two key readers at the end.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{Result, Store, StoreError, Tx};
use crate::{with_pool, with_tx};

/// Hex digits of the token in a Message-ID (64 bits: guessing one is hopeless).
const TOKEN_LEN: usize = 16;
/// What separates the token from the rest of the local part: `<local>.m<token>@<domain>`.
const SEP: &str = ".m";

/// The key of the mark (never printed).
#[derive(Clone)]
pub struct MarkKey(Vec<u8>);

impl std::fmt::Debug for MarkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MarkKey([redacted])")
    }
}

impl MarkKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(secret.to_vec())
    }

    fn token(&self, base: &str) -> String {
        // HMAC accepts a key of any length: `new_from_slice` cannot fail for it.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => return String::new(),
        };
        mac.update(b"connecting email mark v1\0");
        mac.update(base.to_ascii_lowercase().as_bytes());
        let full = hex::encode(mac.finalize().into_bytes());
        full[..TOKEN_LEN].to_owned()
    }

    /// `local@domain` (with or without angle brackets) with our token in its local part:
    /// `local.m<token>@domain`. An id that already verifies is returned unchanged, so marking
    /// twice changes nothing; something that is not `local@domain` is returned as it is.
    pub fn mark(&self, id: &str) -> String {
        let trimmed = id.trim();
        let bracketed = trimmed.starts_with('<') && trimmed.ends_with('>');
        let bare = trimmed.trim_start_matches('<').trim_end_matches('>');
        if self.verifies(bare) {
            return id.to_owned();
        }
        let Some((local, domain)) = bare.rsplit_once('@') else {
            return id.to_owned();
        };
        if local.is_empty() || domain.is_empty() {
            return id.to_owned();
        }
        let marked = format!("{local}{SEP}{}@{domain}", self.token(bare));
        if bracketed {
            format!("<{marked}>")
        } else {
            marked
        }
    }

    /// Does this Message-ID (angle brackets optional) carry a valid mark of ours?
    pub fn verifies(&self, id: &str) -> bool {
        let bare = id
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim();
        let Some((local, domain)) = bare.rsplit_once('@') else {
            return false;
        };
        let Some((base_local, token)) = local.rsplit_once(SEP) else {
            return false;
        };
        if token.len() != TOKEN_LEN || base_local.is_empty() || domain.is_empty() {
            return false;
        }
        let expected = self.token(&format!("{base_local}@{domain}"));
        // Constant-time comparison of equal-length ASCII strings.
        expected
            .bytes()
            .zip(token.to_ascii_lowercase().bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

const KEY_NAME: &str = "email_mark";

fn key_of(value: Option<String>) -> Result<MarkKey> {
    value
        .map(|v| MarkKey::new(v.as_bytes()))
        .ok_or_else(|| StoreError::Corrupt("local_secrets.email_mark is missing".into()))
}

impl Tx {
    /// The key of our email mark (made by migration 0080).
    pub async fn mark_key(&mut self) -> Result<MarkKey> {
        let v: Option<String> = with_tx!(self, c => {
            sqlx::query_scalar("SELECT value FROM local_secrets WHERE name = $1")
                .bind(KEY_NAME)
                .fetch_optional(&mut *c)
                .await?
        });
        key_of(v)
    }
}

impl Store {
    /// The key of our email mark (made by migration 0080).
    pub async fn mark_key(&self) -> Result<MarkKey> {
        let v: Option<String> = with_pool!(self, p => {
            sqlx::query_scalar("SELECT value FROM local_secrets WHERE name = $1")
                .bind(KEY_NAME)
                .fetch_optional(p)
                .await?
        });
        key_of(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_verifies_only_with_its_key() {
        let k = MarkKey::new(b"one key");
        let other = MarkKey::new(b"another key");
        let id = k.mark("med-2027-0001.ack.7@coop.example");
        assert!(id.starts_with("med-2027-0001.ack.7.m"), "{id}");
        assert!(k.verifies(&id));
        assert!(k.verifies(&format!("<{id}>")));
        assert!(!other.verifies(&id));
        assert!(!k.verifies("med-2027-0001.ack.7@coop.example"));
        assert!(!k.verifies("anything.m0123456789abcdef@coop.example"));
        // Marking is idempotent and keeps the brackets.
        assert_eq!(k.mark(&id), id);
        let b = k.mark("<alert.1@coop.example>");
        assert!(b.starts_with('<') && b.ends_with('>') && k.verifies(&b));
        assert_eq!(k.mark("no-at-sign"), "no-at-sign");
    }
}
