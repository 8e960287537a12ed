//! A stand-in of a drand beacon (`/sandbox/beacon`), for development and tests of the draw.
//!
//! The same HTTP shape as drand: `GET /sandbox/beacon/info` gives `period`, `genesis_time`,
//! `public_key`, `schemeID` and `hash`; `GET /sandbox/beacon/public/{round}` (or `latest`) gives
//! `round`, `randomness` and `signature`, and 404 for a round not yet published.
//!
//! Rounds are deterministic: a fixed genesis ([`GENESIS_TIME`]), a configurable period
//! (`SandboxTuning::beacon_period_s`, 1 s by default so tests wait little), and round `r`'s
//! signature is SHA-256 of a fixed label and `r`, its randomness SHA-256 of the signature (drand's
//! derivation). Time is the real clock, as the product's own: the sandbox's movable clock is for
//! Meta's windows, not for this.
//!
//! Nothing here is a real BLS signature: the scheme is announced as `sandbox-unsigned`, and the
//! product says that such a round's signature is not checked.

use crate::Shared;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;
use sha2::{Digest, Sha256};

/// Round 1 of the stand-in: 2026-01-01T00:00:00Z.
pub const GENESIS_TIME: i64 = 1_767_225_600;
/// The scheme announced: its rounds are not signed by anyone.
pub const SCHEME: &str = "sandbox-unsigned";
const LABEL: &[u8] = b"giveaway sandbox beacon";

/// The signature of round `round` (32 bytes, not a BLS signature).
pub fn signature(round: u64) -> [u8; 32] {
    Sha256::new()
        .chain_update(LABEL)
        .chain_update(round.to_be_bytes())
        .finalize()
        .into()
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
        "public_key": "",
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
