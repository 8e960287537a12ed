//! The seed, its commitment, and the order of the draw.

use super::tickets::FrozenList;
use rand::{rngs::OsRng, RngCore};
use sha2::{Digest, Sha256};
use std::fmt;

/// The secret of a campaign's draw: 32 bytes from the operating system, made at publish time.
/// Until the draw it is a secret (stored encrypted, like Page tokens): it has no `Serialize`
/// and its `Debug` shows only the commitment. The results reveal it as hex ([`Seed::reveal`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Seed([u8; 32]);

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Seed(commitment {})", self.commitment())
    }
}

/// A revealed seed that is not 32 bytes of hex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedError;

impl fmt::Display for SeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a seed is 64 hexadecimal characters (32 bytes)")
    }
}

impl std::error::Error for SeedError {}

impl Seed {
    /// A new seed from the operating system's random source.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Seed(bytes)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Seed(bytes)
    }

    /// Reads a seed from its hex form (as stored once decrypted, or as revealed).
    pub fn from_hex(text: &str) -> Result<Self, SeedError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| SeedError)?;
        Ok(Seed(bytes))
    }

    /// The seed in hex: for encrypted storage before the draw, and for the results after it.
    pub fn reveal(&self) -> String {
        hex::encode(self.0)
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The draw commitment shown from publication on: SHA-256 of the 32 seed bytes, in hex.
    pub fn commitment(&self) -> String {
        hex::encode(Sha256::digest(self.0))
    }
}

/// `SHA-256(seed ‖ list hash ‖ beacon randomness)`: everything that decides the order, in one
/// key. Without a beacon the last part is absent (64 bytes hashed, not 96).
pub fn draw_key(seed: &Seed, list_sha256: &[u8; 32], beacon: Option<&[u8; 32]>) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(seed.0);
    hash.update(list_sha256);
    if let Some(randomness) = beacon {
        hash.update(randomness);
    }
    hash.finalize().into()
}

/// A ticket's place in the draw: `SHA-256(key ‖ ticket)`; the smallest comes first.
pub fn score(key: &[u8; 32], ticket: &str) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(key);
    hash.update(ticket.as_bytes());
    hash.finalize().into()
}

/// The full order of the draw, as indexes into `list.tickets()`: the first N win, the next are
/// the alternates, and the rest is the order a prize walks down when it passes on.
///
/// Equal scores (a SHA-256 collision, never seen) fall back to the ticket; the list is sorted
/// and without duplicates, so its index orders tickets the same way.
pub fn draw_order(seed: &Seed, list: &FrozenList, beacon: Option<&[u8; 32]>) -> Vec<u32> {
    let key = draw_key(seed, &list.sha256(), beacon);
    // The key is absorbed once; each ticket hashes from a copy of that state.
    let keyed = Sha256::new_with_prefix(key);
    let mut scored: Vec<([u8; 32], u32)> = list
        .tickets()
        .iter()
        .enumerate()
        .map(|(i, ticket)| {
            let score: [u8; 32] = keyed
                .clone()
                .chain_update(ticket.as_bytes())
                .finalize()
                .into();
            // A FrozenList never holds more than u32::MAX tickets.
            (score, i as u32)
        })
        .collect();
    scored.sort_unstable();
    scored.into_iter().map(|(_, i)| i).collect()
}
