//! A stand-in of a drand beacon (`/sandbox/beacon`), for development and tests of the draw.
//!
//! The same HTTP shape as drand: `GET /sandbox/beacon/info` gives `period`, `genesis_time`,
//! `public_key`, `schemeID` and `hash`; `GET /sandbox/beacon/public/{round}` (or `latest`) gives
//! `round`, `randomness` and `signature`, and 404 for a round not yet published.
//!
//! Rounds are deterministic: a fixed genesis ([`GENESIS_TIME`]), a configurable period
//! (`SandboxTuning::beacon_period_s`, 1 s by default so tests wait little), and a fixed key pair
//! made from a public label. Each round is signed as drand's quicknet signs
//! (`bls-unchained-g1-rfc9380`: BLS on G1 over SHA-256 of the round number, the public key on
//! G2), and its randomness is SHA-256 of the signature: the product checks these signatures
//! exactly as it checks a real chain's. The key is public, so the rounds prove nothing about the
//! sandbox: only that the checks work. Time is the real clock, as the product's own: the sandbox's
//! movable clock is for Meta's windows, not for this.

use crate::Shared;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use bls12_381::{
    hash_to_curve::{ExpandMsgXmd, HashToCurve},
    G1Affine, G1Projective, G2Affine, G2Projective, Scalar,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Round 1 of the stand-in: 2026-01-01T00:00:00Z.
pub const GENESIS_TIME: i64 = 1_767_225_600;
/// drand's scheme for quicknet, which the stand-in follows.
pub const SCHEME: &str = "bls-unchained-g1-rfc9380";
const LABEL: &[u8] = b"giveaway sandbox beacon";
/// The hash-to-curve domain of BLS signatures on G1 (RFC 9380), as drand's quicknet uses it.
const DST_G1: &[u8] = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_";

/// The stand-in's secret key, made from the public label: (secret, compressed public key).
fn keys() -> &'static (Scalar, [u8; 96]) {
    static KEYS: OnceLock<(Scalar, [u8; 96])> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut wide = [0u8; 64];
        wide[..32].copy_from_slice(
            &Sha256::new()
                .chain_update(LABEL)
                .chain_update([0])
                .finalize(),
        );
        wide[32..].copy_from_slice(
            &Sha256::new()
                .chain_update(LABEL)
                .chain_update([1])
                .finalize(),
        );
        let secret = Scalar::from_bytes_wide(&wide);
        let public = G2Affine::from(G2Projective::generator() * secret).to_compressed();
        (secret, public)
    })
}

/// The stand-in's public key (G2, compressed, 96 bytes).
pub fn public_key() -> [u8; 96] {
    keys().1
}

/// The signature of round `round` (G1, compressed, 48 bytes): the secret key times the hash to
/// the curve of SHA-256 of the round number (8 bytes, big-endian).
pub fn signature(round: u64) -> [u8; 48] {
    let message = Sha256::digest(round.to_be_bytes());
    let point = <G1Projective as HashToCurve<ExpandMsgXmd<sha2_09::Sha256>>>::hash_to_curve(
        message, DST_G1,
    );
    G1Affine::from(point * keys().0).to_compressed()
}

/// The round published at `now_ms` (0 before genesis).
pub fn current_round(period_s: u64, now_ms: i64) -> u64 {
    let genesis_ms = GENESIS_TIME * 1000;
    if now_ms < genesis_ms {
        return 0;
    }
    ((now_ms - genesis_ms) / (period_s.max(1) as i64 * 1000)) as u64 + 1
}

fn period(sb: &Shared) -> u64 {
    sb.config.tuning.beacon_period_s.max(1)
}

pub async fn info(State(sb): State<Shared>) -> Json<serde_json::Value> {
    Json(json!({
        "public_key": hex::encode(public_key()),
        "period": period(&sb),
        "genesis_time": GENESIS_TIME,
        "hash": hex::encode(Sha256::digest(LABEL)),
        "schemeID": SCHEME,
        "metadata": { "beaconID": "sandbox" },
    }))
}

pub async fn round(State(sb): State<Shared>, Path(round): Path<String>) -> Response {
    let current = current_round(period(&sb), crate::real_now_ms());
    let round = match round.as_str() {
        "latest" => current,
        number => match number.parse::<u64>() {
            Ok(round) => round,
            Err(_) => return not_found("a round is a number or `latest`"),
        },
    };
    if round == 0 || round > current {
        return not_found("round not yet published");
    }
    let signature = signature(round);
    Json(json!({
        "round": round,
        "randomness": hex::encode(Sha256::digest(signature)),
        "signature": hex::encode(signature),
    }))
    .into_response()
}

fn not_found(message: &str) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": message }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_follow_genesis_and_period() {
        let genesis_ms = GENESIS_TIME * 1000;
        assert_eq!(current_round(1, genesis_ms - 1), 0);
        assert_eq!(current_round(1, genesis_ms), 1);
        assert_eq!(current_round(1, genesis_ms + 999), 1);
        assert_eq!(current_round(3, genesis_ms + 3000), 2);
        assert_ne!(signature(1), signature(2));
    }
}
