//! Secrets: values that must never be logged, serialized or sent to a browser, and the key that
//! protects what we store (session cookies, Page tokens).
//!
//! None of these types implement `Serialize`, and their `Debug` is redacted, so a stray
//! `tracing::debug!(?settings)` cannot leak them.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    XChaCha20Poly1305, XNonce,
};
use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;
use std::{fmt, path::Path, sync::Arc};

/// A secret string (app secret, verify token, access token).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Arc::from(value.into()))
    }
    /// The only way to read the value: call sites that need it are easy to find.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The server's master key (`SECRET_KEY`). Purpose-specific keys are derived from it with HKDF so
/// that a cookie key can never decrypt a Page token and vice versa.
#[derive(Clone)]
pub struct SecretKey(Arc<[u8]>);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

const MIN_SECRET_KEY_LEN: usize = 32;

impl SecretKey {
    pub fn from_setting(raw: &str) -> Result<Self, String> {
        if raw.len() < MIN_SECRET_KEY_LEN {
            return Err(format!(
                "must be at least {MIN_SECRET_KEY_LEN} characters (generate one with `openssl rand -hex 32`)"
            ));
        }
        Ok(SecretKey(Arc::from(raw.as_bytes())))
    }

    /// Development convenience: a random key kept in the data folder, so sessions and stored
    /// tokens survive restarts without any set-up.
    pub fn load_or_create(path: &Path) -> Result<Self, String> {
        match std::fs::read_to_string(path) {
            Ok(raw) => Self::from_setting(raw.trim())
                .map_err(|p| format!("the key kept in {} {p}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut bytes);
                let key = hex::encode(bytes);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                }
                write_private(path, &key)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                Self::from_setting(&key)
            }
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Derives `len` bytes for one purpose.
    pub fn derive(&self, purpose: &str, len: usize) -> Vec<u8> {
        let hk = Hkdf::<Sha256>::new(Some(b"giveaway/v1"), &self.0);
        let mut out = vec![0u8; len];
        hk.expand(purpose.as_bytes(), &mut out)
            .expect("HKDF output length is within limits");
        out
    }

    pub fn token_cipher(&self) -> TokenCipher {
        let key = self.derive("page-token-encryption", 32);
        TokenCipher {
            aead: XChaCha20Poly1305::new_from_slice(&key).expect("32-byte key"),
        }
    }
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// Encrypts tokens at rest (XChaCha20-Poly1305, random 24-byte nonce). The stored text is
/// `v1.<base64(nonce || ciphertext)>`; `aad` binds a ciphertext to its row (a Page id), so a token
/// copied onto another row does not decrypt.
#[derive(Clone)]
pub struct TokenCipher {
    aead: XChaCha20Poly1305,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a stored token could not be decrypted (wrong SECRET_KEY, or the row was tampered with)")]
pub struct DecryptError;

impl TokenCipher {
    pub fn encrypt(&self, token: &Secret, aad: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = self
            .aead
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: token.expose().as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .expect("encryption of a short token cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("v1.{}", B64.encode(out))
    }

    pub fn decrypt(&self, stored: &str, aad: &str) -> Result<Secret, DecryptError> {
        let raw = stored.strip_prefix("v1.").ok_or(DecryptError)?;
        let bytes = B64.decode(raw).map_err(|_| DecryptError)?;
        if bytes.len() < 24 {
            return Err(DecryptError);
        }
        let (nonce, sealed) = bytes.split_at(24);
        let plain = self
            .aead
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| DecryptError)?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| DecryptError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_setting("0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn tokens_round_trip_and_are_not_stored_in_clear() {
        let cipher = key().token_cipher();
        let token = Secret::new("EAAB-page-token-123");
        let stored = cipher.encrypt(&token, "page:42");
        assert!(!stored.contains("EAAB"));
        assert_ne!(
            stored,
            cipher.encrypt(&token, "page:42"),
            "nonces are random"
        );
        assert_eq!(cipher.decrypt(&stored, "page:42").unwrap(), token);
    }

    #[test]
    fn a_token_does_not_decrypt_on_another_row_or_with_another_key() {
        let stored = key().token_cipher().encrypt(&Secret::new("tok"), "page:42");
        assert_eq!(
            key().token_cipher().decrypt(&stored, "page:43"),
            Err(DecryptError)
        );
        let other = SecretKey::from_setting("ffffffffffffffffffffffffffffffff").unwrap();
        assert_eq!(
            other.token_cipher().decrypt(&stored, "page:42"),
            Err(DecryptError)
        );
        assert_eq!(
            key().token_cipher().decrypt("garbage", "page:42"),
            Err(DecryptError)
        );
    }

    #[test]
    fn debug_output_is_redacted() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
        assert_eq!(format!("{:?}", key()), "SecretKey(***)");
    }

    #[test]
    fn derived_keys_differ_by_purpose() {
        assert_ne!(key().derive("a", 32), key().derive("b", 32));
        assert_eq!(key().derive("a", 32), key().derive("a", 32));
    }
}
