//! The `ref` carried by an entry's m.me link: `{nonce}-{expiry}-{signature}`.
//!
//! Meta allows only letters, digits, `-`, `_` and `=` in a ref and hands it back verbatim in the
//! webhook, so it must carry everything needed to trust it: a random nonce (the entry's key, 71
//! bits, unguessable), an expiry (unix seconds, base 36) and an HMAC over both and the campaign
//! id, which binds the ref to its campaign: a ref lifted from one campaign's link is worthless on
//! another. About 35 characters, well under Meta's 250.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use rand::{distributions::Alphanumeric, Rng};
use sha2::Sha256;

/// How long a handed-out link stays good: long enough to finish on another device tomorrow.
pub const LIFETIME_S: i64 = 7 * 24 * 3600;
const NONCE_LEN: usize = 12;
const SIGNATURE_LEN: usize = 16;

#[derive(Debug, PartialEq, Eq)]
pub enum RefError {
    Malformed,
    BadSignature,
    Expired,
}

impl std::fmt::Display for RefError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RefError::Malformed => "not one of our entry refs",
            RefError::BadSignature => "signature does not match its campaign",
            RefError::Expired => "the entry link has expired",
        })
    }
}

/// The key that signs refs, derived from the server's secret key for this one purpose.
#[derive(Clone)]
pub struct RefKey(Vec<u8>);

impl RefKey {
    pub fn new(secret_key: &crate::secrets::SecretKey) -> RefKey {
        RefKey(secret_key.derive("entry-refs", 32))
    }

    fn signature(&self, campaign_id: &str, nonce: &str, expiry: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("any key length");
        mac.update(format!("{campaign_id}\n{nonce}\n{expiry}").as_bytes());
        let mut sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        sig.truncate(SIGNATURE_LEN);
        sig
    }

    /// A signed ref for an entry's nonce.
    pub fn make(&self, campaign_id: &str, nonce: &str, expires_at_s: i64) -> String {
        let expiry = to_base36(expires_at_s.max(0) as u64);
        let sig = self.signature(campaign_id, nonce, &expiry);
        format!("{nonce}-{expiry}-{sig}")
    }

    /// Checks a ref against the campaign of the entry its nonce names.
    pub fn verify(&self, campaign_id: &str, reference: &str, now_s: i64) -> Result<(), RefError> {
        let (nonce, expiry, sig) = split(reference).ok_or(RefError::Malformed)?;
        let expected = self.signature(campaign_id, nonce, expiry);
        let same: bool = subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), sig.as_bytes()).into();
        if !same {
            return Err(RefError::BadSignature);
        }
        let expires = i64::from_str_radix(expiry, 36).map_err(|_| RefError::Malformed)?;
        if now_s > expires {
            return Err(RefError::Expired);
        }
        Ok(())
    }
}

/// A fresh random nonce: letters and digits only.
pub fn new_nonce() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(NONCE_LEN)
        .map(char::from)
        .collect()
}

/// What the QR code's link puts before the ref, so that an entry scanned on a phone can be told
/// from one tapped on the page (the entrants list shows how each came). Not signed: it claims
/// nothing but the way the same link travelled.
pub const SCANNED_PREFIX: &str = "q_";

/// Whether a ref came through the entry page's QR code.
pub fn scanned(reference: &str) -> bool {
    reference.starts_with(SCANNED_PREFIX)
}

/// The nonce of a well-formed ref (to find its entry before verifying it against the campaign).
pub fn nonce_of(reference: &str) -> Option<&str> {
    split(reference).map(|(nonce, _, _)| nonce)
}

fn split(reference: &str) -> Option<(&str, &str, &str)> {
    let reference = reference.strip_prefix(SCANNED_PREFIX).unwrap_or(reference);
    let mut parts = reference.splitn(3, '-');
    let (nonce, expiry, sig) = (parts.next()?, parts.next()?, parts.next()?);
    let well_formed = nonce.len() == NONCE_LEN
        && nonce.bytes().all(|b| b.is_ascii_alphanumeric())
        && !expiry.is_empty()
        && expiry.len() <= 13
        && expiry
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        && sig.len() == SIGNATURE_LEN;
    well_formed.then_some((nonce, expiry, sig))
}

fn to_base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ascii digits")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> RefKey {
        RefKey::new(&crate::secrets::SecretKey::from_setting(&"k".repeat(64)).unwrap())
    }

    #[test]
    fn refs_are_short_use_only_allowed_characters_and_verify() {
        let nonce = new_nonce();
        let reference = key().make("campaign-1", &nonce, 2_000_000_000);
        assert!(reference.len() < 50, "{reference}");
        assert!(reference
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=".contains(c)));
        assert_eq!(nonce_of(&reference), Some(nonce.as_str()));
        assert_eq!(
            key().verify("campaign-1", &reference, 1_900_000_000),
            Ok(())
        );
    }

    #[test]
    fn a_ref_is_bound_to_its_campaign_and_expires() {
        let reference = key().make("campaign-1", &new_nonce(), 2_000_000_000);
        assert_eq!(
            key().verify("campaign-2", &reference, 1_900_000_000),
            Err(RefError::BadSignature)
        );
        assert_eq!(
            key().verify("campaign-1", &reference, 2_000_000_001),
            Err(RefError::Expired)
        );
        let other_key =
            RefKey::new(&crate::secrets::SecretKey::from_setting(&"j".repeat(64)).unwrap());
        assert_eq!(
            other_key.verify("campaign-1", &reference, 1_900_000_000),
            Err(RefError::BadSignature)
        );
    }

    #[test]
    fn the_qr_codes_mark_leaves_the_ref_good() {
        let reference = key().make("c", "AAAAAAAAAAAA", 2_000_000_000);
        let from_qr = format!("{SCANNED_PREFIX}{reference}");
        assert!(scanned(&from_qr) && !scanned(&reference));
        assert_eq!(nonce_of(&from_qr), Some("AAAAAAAAAAAA"));
        assert_eq!(key().verify("c", &from_qr, 0), Ok(()));
    }

    #[test]
    fn tampered_or_foreign_refs_are_refused() {
        let reference = key().make("c", "AAAAAAAAAAAA", 2_000_000_000);
        let tampered = reference.replacen("AAAAAAAAAAAA", "AAAAAAAAAAAB", 1);
        assert_eq!(key().verify("c", &tampered, 0), Err(RefError::BadSignature));
        for junk in ["", "demo", "a-b-c", "AAAAAAAAAAAA-zz-short", "GET_STARTED"] {
            assert_eq!(
                key().verify("c", junk, 0),
                Err(RefError::Malformed),
                "{junk}"
            );
        }
    }
}
