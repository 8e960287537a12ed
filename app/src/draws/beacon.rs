//! Outside randomness: a client of a drand-shaped beacon (`DRAW_BEACON_URL`).
//!
//! drand's HTTP API: `GET {url}/info` gives the chain's `period` (seconds), `genesis_time` (Unix
//! seconds), `public_key` and `schemeID`; `GET {url}/public/{round}` gives a round's `round`,
//! `randomness`, `signature` (and `previous_signature` on chained schemes). Round `r` is
//! published at `genesis_time + (r - 1) * period`; a round not yet published answers an error.
//!
//! The draw uses the first round published after its list was frozen: at freezing time nobody
//! can know that round's randomness, so nobody (the server's owner included) could have chosen
//! the entries that would win.
//!
//! Signatures: for drand's schemes ([`check_signature`]) the round's BLS signature is checked
//! against the public key kept in the results (`drand-verify`, pure Rust); a round that does not
//! verify is a difference. That proves the round was signed with that key: whether the key is the
//! chain's, a reader checks against the chain's published key or hash, which the results keep
//! too. A scheme this build does not know is not checked, and [`check_signature`] says so, in
//! words, every time: never a silent pass.

use super::results::{BeaconRound, Difference};
use drand_verify::{G1Pubkey, G2PubkeyFastnet, G2PubkeyRfc, Pubkey};
use std::{fmt, time::Duration};
use url::Url;

/// A chain's parameters, from `{url}/info`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct BeaconInfo {
    /// Seconds between rounds.
    pub period: u64,
    /// When round 1 was published (Unix seconds).
    pub genesis_time: i64,
    #[serde(default)]
    pub public_key: String,
    #[serde(default, rename = "schemeID", alias = "scheme")]
    pub scheme: Option<String>,
    #[serde(default, alias = "chain_hash")]
    pub hash: Option<String>,
}

/// One round as `{url}/public/{round}` gives it.
#[derive(Clone, Debug, serde::Deserialize)]
struct RoundJson {
    round: u64,
    randomness: String,
    signature: String,
    #[serde(default)]
    previous_signature: Option<String>,
}

/// Why a beacon round could not be had.
#[derive(Debug, thiserror::Error)]
pub enum BeaconError {
    #[error("the beacon at {url} cannot be reached: {problem}")]
    Unreachable { url: String, problem: String },
    #[error("the beacon at {url} answered something that is not drand's shape: {problem}")]
    Malformed { url: String, problem: String },
    #[error("the beacon at {url} has not published round {round}, due {late_by_s} s ago")]
    Late {
        url: String,
        round: u64,
        late_by_s: u64,
    },
}

/// When round `round` is published (Unix milliseconds).
pub fn round_time_ms(genesis_time: i64, period: u64, round: u64) -> i64 {
    let period_ms = (period as i64).saturating_mul(1000);
    (genesis_time.saturating_mul(1000))
        .saturating_add((round.saturating_sub(1) as i64).saturating_mul(period_ms))
}

/// The first round published strictly after `t_ms` (Unix milliseconds): round 1 before genesis,
/// else the one after the round current at `t_ms` (a round published at exactly `t_ms` is not
/// "after").
pub fn first_round_after(genesis_time: i64, period: u64, t_ms: i64) -> u64 {
    let genesis_ms = genesis_time.saturating_mul(1000);
    let period_ms = (period.max(1) as i64).saturating_mul(1000);
    if t_ms < genesis_ms {
        return 1;
    }
    ((t_ms - genesis_ms) / period_ms) as u64 + 2
}

/// What was checked of a round's signature, in words for the results page and `verify-draw`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureCheck {
    /// The BLS signature verifies against the public key in the results.
    Verified(String),
    /// Not checked here (a scheme this build does not know): the reason, and what to do.
    NotChecked(String),
}

impl SignatureCheck {
    pub fn message(&self) -> &str {
        match self {
            SignatureCheck::Verified(m) | SignatureCheck::NotChecked(m) => m,
        }
    }
}

/// Checks `round`'s BLS signature for drand's schemes: `pedersen-bls-chained` and
/// `pedersen-bls-unchained` (key on G1), `bls-unchained-g1-rfc9380` (quicknet) and
/// `bls-unchained-on-g1` (key on G2). A signature that does not verify, or a known scheme
/// without a public key, is a [`Difference`]; an unknown scheme is [`SignatureCheck::NotChecked`].
/// The randomness is checked apart ([`BeaconRound::checked_randomness`]).
pub fn check_signature(round: &BeaconRound) -> Result<SignatureCheck, Difference> {
    let scheme = round.scheme.as_deref().unwrap_or("");
    let verify: BlsCheck = match scheme {
        "pedersen-bls-chained" | "pedersen-bls-unchained" => bls::<G1Pubkey>,
        "bls-unchained-g1-rfc9380" => bls::<G2PubkeyRfc>,
        "bls-unchained-on-g1" => bls::<G2PubkeyFastnet>,
        _ => {
            return Ok(SignatureCheck::NotChecked(format!(
                "beacon round {}: its randomness is SHA-256 of its signature, but its scheme `{scheme}` is not one this build checks: check the signature against the chain at {} with drand's own tools",
                round.round, round.url
            )))
        }
    };
    let problem = |problem: String| Difference::BeaconSignature {
        round: round.round,
        problem,
    };
    let decode = |field: &str, text: &str| {
        hex::decode(text).map_err(|_| problem(format!("its {field} is not hex")))
    };
    let public_key = round
        .public_key
        .as_deref()
        .ok_or_else(|| problem("no public key to check the signature against".into()))
        .and_then(|key| decode("public key", key))?;
    let signature = decode("signature", &round.signature)?;
    // Only the chained scheme signs the previous round's signature too.
    let previous = match (scheme, &round.previous_signature) {
        ("pedersen-bls-chained", Some(previous)) => decode("previous signature", previous)?,
        ("pedersen-bls-chained", None) => {
            return Err(problem(
                "a chained scheme, but no previous signature".into(),
            ))
        }
        _ => Vec::new(),
    };
    match verify(&public_key, round.round, &previous, &signature) {
        Ok(true) => Ok(SignatureCheck::Verified(format!(
            "beacon round {}: its BLS signature ({scheme}) verifies against the public key {}{}; make sure that key is the one the chain at {} publishes",
            round.round,
            round.public_key.as_deref().unwrap_or_default(),
            round
                .chain_hash
                .as_deref()
                .map(|hash| format!(" (chain {hash})"))
                .unwrap_or_default(),
            round.url
        ))),
        Ok(false) => Err(problem(
            "its signature does not verify against the public key in the results".into(),
        )),
        Err(e) => Err(problem(e)),
    }
}

/// Checks (public key, round, previous signature, signature) for one scheme.
type BlsCheck = fn(&[u8], u64, &[u8], &[u8]) -> Result<bool, String>;

fn bls<P: Pubkey>(
    public_key: &[u8],
    round: u64,
    previous: &[u8],
    signature: &[u8],
) -> Result<bool, String> {
    let key = P::from_variable(public_key)
        .map_err(|e| format!("its public key is not a key of this scheme ({e})"))?;
    key.verify(round, previous, signature)
        .map_err(|e| format!("its signature is not a point of this scheme ({e})"))
}

/// A client of one beacon.
#[derive(Clone, Debug)]
pub struct BeaconClient {
    base: String,
    http: reqwest::Client,
}

impl BeaconClient {
    pub fn new(url: &Url) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client with a timeout builds");
        BeaconClient {
            base: url.as_str().trim_end_matches('/').to_string(),
            http,
        }
    }

    /// The chain's parameters.
    pub async fn info(&self) -> Result<BeaconInfo, BeaconError> {
        let url = format!("{}/info", self.base);
        let response = self.get(&url).await?;
        if !response.status().is_success() {
            return Err(self.malformed(format!("{url} answered {}", response.status())));
        }
        let info: BeaconInfo = response
            .json()
            .await
            .map_err(|e| self.malformed(format!("{url}: {e}")))?;
        if info.period == 0 {
            return Err(self.malformed("its period is 0".into()));
        }
        Ok(info)
    }

    /// Round `round`, or `None` while it is not published. Its randomness must derive from its
    /// signature, and the signature verify against the chain's key (for the schemes
    /// [`check_signature`] knows).
    pub async fn round(
        &self,
        info: &BeaconInfo,
        round: u64,
    ) -> Result<Option<BeaconRound>, BeaconError> {
        let url = format!("{}/public/{round}", self.base);
        let response = self.get(&url).await?;
        let status = response.status();
        // drand answers a future round with 404 (some relays with 425 Too Early).
        if status.as_u16() == 404 || status.as_u16() == 425 {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(self.malformed(format!("{url} answered {status}")));
        }
        let json: RoundJson = response
            .json()
            .await
            .map_err(|e| self.malformed(format!("{url}: {e}")))?;
        if json.round != round {
            return Err(self.malformed(format!(
                "asked for round {round}, it gave round {}",
                json.round
            )));
        }
        let round = BeaconRound {
            url: self.base.clone(),
            round,
            randomness: json.randomness.to_ascii_lowercase(),
            signature: json.signature.to_ascii_lowercase(),
            previous_signature: json.previous_signature.map(|s| s.to_ascii_lowercase()),
            scheme: info.scheme.clone(),
            public_key: Some(info.public_key.clone()).filter(|k| !k.is_empty()),
            chain_hash: info.hash.clone(),
            genesis_time: Some(info.genesis_time),
            period: Some(info.period),
        };
        // A round that would not verify is refused before any draw uses it.
        round
            .checked_randomness()
            .and_then(|_| check_signature(&round))
            .map_err(|d| self.malformed(d.to_string()))?;
        Ok(Some(round))
    }

    /// The first round published after `t_ms` (Unix milliseconds), waiting until it is out.
    /// Gives up with [`BeaconError::Late`] when the round is still missing well after it was due
    /// (three periods, at least 30 seconds): the caller tries the draw again later, with the
    /// same round.
    pub async fn first_round_after(&self, t_ms: i64) -> Result<BeaconRound, BeaconError> {
        let info = self.info().await?;
        let round = first_round_after(info.genesis_time, info.period, t_ms);
        self.wait_for(&info, round).await
    }

    /// Waits for round `round` (due at its time) and fetches it.
    pub async fn wait_for(
        &self,
        info: &BeaconInfo,
        round: u64,
    ) -> Result<BeaconRound, BeaconError> {
        let due_ms = round_time_ms(info.genesis_time, info.period, round);
        let patience_ms = (info.period as i64 * 3000).max(30_000);
        let mut pause = Duration::from_millis(100);
        loop {
            let now = now_ms();
            if now < due_ms {
                tokio::time::sleep(Duration::from_millis((due_ms - now) as u64)).await;
            }
            if let Some(found) = self.round(info, round).await? {
                return Ok(found);
            }
            let late_ms = now_ms() - due_ms;
            if late_ms > patience_ms {
                return Err(BeaconError::Late {
                    url: self.base.clone(),
                    round,
                    late_by_s: (late_ms / 1000) as u64,
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    async fn get(&self, url: &str) -> Result<reqwest::Response, BeaconError> {
        self.http
            .get(url)
            .send()
            .await
            .map_err(|e| BeaconError::Unreachable {
                url: self.base.clone(),
                problem: e.without_url().to_string(),
            })
    }

    fn malformed(&self, problem: String) -> BeaconError {
        BeaconError::Malformed {
            url: self.base.clone(),
            problem,
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl fmt::Display for SignatureCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_round_after_a_time_is_never_the_current_one() {
        // Genesis at 1000 s, a round every 3 s: round 1 at 1000, 2 at 1003, 3 at 1006.
        assert_eq!(first_round_after(1000, 3, 0), 1);
        assert_eq!(first_round_after(1000, 3, 999_999), 1);
        assert_eq!(
            first_round_after(1000, 3, 1_000_000),
            2,
            "round 1 is out at 1000"
        );
        assert_eq!(first_round_after(1000, 3, 1_002_999), 2);
        assert_eq!(first_round_after(1000, 3, 1_003_000), 3);
        for t in [1_000_000, 1_001_500, 1_005_999, 2_000_001] {
            let round = first_round_after(1000, 3, t);
            assert!(round_time_ms(1000, 3, round) > t);
            assert!(round == 1 || round_time_ms(1000, 3, round - 1) <= t);
        }
    }

    #[test]
    fn drand_info_reads_with_its_field_names() {
        let info: BeaconInfo = serde_json::from_str(
            r#"{"public_key":"83cf","period":3,"genesis_time":1692803367,"hash":"52db","groupHash":"f477","schemeID":"bls-unchained-g1-rfc9380","metadata":{"beaconID":"quicknet"}}"#,
        )
        .unwrap();
        assert_eq!(info.period, 3);
        assert_eq!(info.genesis_time, 1692803367);
        assert_eq!(info.scheme.as_deref(), Some("bls-unchained-g1-rfc9380"));
        assert_eq!(info.hash.as_deref(), Some("52db"));
    }

    /// drand's quicknet (public data): its key, and round 123 as its API serves it.
    fn quicknet_round_123() -> BeaconRound {
        let signature = "b75c69d0b72a5d906e854e808ba7e2accb1542ac355ae486d591aa9d43765482e26cd02df835d3546d23c4b13e0dfc92";
        BeaconRound {
            url: "https://beacon.example/52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971".into(),
            round: 123,
            randomness: crate::draws::sha256_hex(&hex::decode(signature).unwrap()),
            signature: signature.into(),
            previous_signature: None,
            scheme: Some("bls-unchained-g1-rfc9380".into()),
            public_key: Some("83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a".into()),
            chain_hash: Some("52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971".into()),
            genesis_time: Some(1692803367),
            period: Some(3),
        }
    }

    #[test]
    fn a_real_quicknet_round_verifies_and_a_changed_one_does_not() {
        let round = quicknet_round_123();
        assert!(round.checked_randomness().is_ok());
        let check = check_signature(&round).unwrap();
        assert!(matches!(check, SignatureCheck::Verified(_)), "{check:?}");

        let mut other_round = round.clone();
        other_round.round = 124;
        let err = check_signature(&other_round).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("beacon signature: round 124: its signature does not verify"),
            "{err}"
        );

        let mut keyless = round.clone();
        keyless.public_key = None;
        assert!(matches!(
            check_signature(&keyless),
            Err(Difference::BeaconSignature { round: 123, .. })
        ));

        let mut unknown = round;
        unknown.scheme = Some("something-new".into());
        let check = check_signature(&unknown).unwrap();
        assert!(matches!(check, SignatureCheck::NotChecked(_)), "{check:?}");
        assert!(
            check.message().contains("not one this build checks"),
            "{check}"
        );
    }
}
