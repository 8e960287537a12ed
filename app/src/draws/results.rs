//! `results.json`: everything needed to recompute a draw without our database, and [`verify`],
//! which recomputes it and names the first place where the published results differ.
//!
//! Positions in the order and ranks of prizes count from 1, as the results page shows them.

use super::{
    beacon,
    order::{draw_order, Seed},
    tickets::{FrozenList, ListError},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::{collections::HashSet, fmt};

/// The version of the `results.json` format this code writes and reads.
pub const RESULTS_VERSION: u32 = 1;
/// The name of the algorithm in the module documentation (and the README, "The draw").
pub const ALGORITHM: &str = "sha256-score-order-v1";

/// A draw's published results. The order lists the tickets that can hold a prize (the first
/// `winners_count + alternates_count` of the full order, or all tickets when there are fewer);
/// positions further down are still defined by the algorithm, but are never used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawResults {
    /// [`RESULTS_VERSION`].
    pub version: u32,
    /// [`ALGORITHM`].
    pub algorithm: String,
    /// SHA-256 of the seed, hex: shown since publication.
    pub commitment: String,
    /// The seed, revealed: 32 bytes in hex.
    pub seed: String,
    /// When the list was frozen (Unix time, milliseconds); the beacon round must be the first
    /// published after it.
    pub frozen_at_ms: Option<i64>,
    /// The frozen list: sorted, without duplicates.
    pub tickets: Vec<String>,
    /// SHA-256 of the list's text (one ticket per line, each line ending in `\n`), hex.
    pub list_sha256: String,
    /// The beacon round mixed into the key, when the draw used one.
    pub beacon: Option<BeaconRound>,
    /// Prizes to draw (N).
    pub winners_count: u32,
    /// Alternates drawn after the winners (A).
    pub alternates_count: u32,
    /// The first `min(N + A, tickets)` tickets of the order.
    pub order: Vec<String>,
    /// Who holds each prize now, by rank (`null`: nobody, for lack of tickets or alternates).
    pub winners: Vec<Option<String>>,
    /// Prizes passed on since the draw, oldest first.
    #[serde(default)]
    pub redraws: Vec<Redraw>,
}

/// One round of a drand-shaped beacon, as fetched ([`beacon::BeaconClient`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeaconRound {
    /// The beacon's base URL (`DRAW_BEACON_URL`): `{url}/info` and `{url}/public/{round}`.
    pub url: String,
    pub round: u64,
    /// 32 bytes, hex: SHA-256 of the signature (drand's derivation).
    pub randomness: String,
    /// The round's signature, hex, to check against the chain's public key.
    pub signature: String,
    /// Chained schemes sign the previous round's signature too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_signature: Option<String>,
    /// The chain's scheme (drand's `schemeID`), public key and chain hash, from `{url}/info`.
    pub scheme: Option<String>,
    pub public_key: Option<String>,
    pub chain_hash: Option<String>,
    /// The chain's genesis (Unix seconds) and period (seconds): when each round is published.
    pub genesis_time: Option<i64>,
    pub period: Option<u64>,
}

impl BeaconRound {
    /// The randomness mixed into the draw's key, checked to be SHA-256 of the signature.
    pub fn checked_randomness(&self) -> Result<[u8; 32], Difference> {
        let mut randomness = [0u8; 32];
        hex::decode_to_slice(&self.randomness, &mut randomness).map_err(|_| {
            Difference::Malformed {
                field: "beacon.randomness",
                problem: "is not 32 bytes of hex".into(),
            }
        })?;
        let signature = hex::decode(&self.signature).map_err(|_| Difference::Malformed {
            field: "beacon.signature",
            problem: "is not hex".into(),
        })?;
        let derived: [u8; 32] = Sha256::digest(&signature).into();
        if derived != randomness {
            return Err(Difference::BeaconRandomness {
                round: self.round,
                published: self.randomness.clone(),
                computed: hex::encode(derived),
            });
        }
        Ok(randomness)
    }
}

/// A prize that passed on, or a ticket struck out before it won anything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redraw {
    /// The ticket that lost its prize (or its place among the alternates).
    pub ticket: String,
    /// Its position in the order.
    pub position: u32,
    pub outcome: RedrawOutcome,
    /// Why, in words, for the results page.
    pub reason: String,
    /// The prize it held, if it held one (a waiting alternate holds none).
    pub rank: Option<u32>,
    /// Who holds that prize now: the next ticket down the order not yet placed or struck out;
    /// `null` when the published order has no one left.
    pub replaced_by: Option<Placed>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedrawOutcome {
    /// The prize was not claimed before the deadline: "passed to alternate".
    PassedToAlternate,
    /// The admin disqualified the ticket (a winner or a waiting alternate).
    Disqualified,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placed {
    pub ticket: String,
    pub position: u32,
}

/// Where published results differ from what the inputs give: the first difference found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Difference {
    Version {
        found: u32,
    },
    Algorithm {
        found: String,
    },
    /// A field that cannot even be read (bad hex, ...).
    Malformed {
        field: &'static str,
        problem: String,
    },
    Commitment {
        published: String,
        computed: String,
    },
    List(ListError),
    ListHash {
        published: String,
        computed: String,
    },
    BeaconRandomness {
        round: u64,
        published: String,
        computed: String,
    },
    BeaconRound {
        published: u64,
        expected: u64,
    },
    BeaconSignature {
        round: u64,
        problem: String,
    },
    OrderLength {
        published: usize,
        expected: usize,
    },
    Order {
        position: usize,
        expected: String,
        published: String,
    },
    Redraw {
        number: usize,
        problem: String,
    },
    WinnersLength {
        published: usize,
        expected: usize,
    },
    Winner {
        rank: usize,
        expected: Option<String>,
        published: Option<String>,
    },
}

fn or_nobody(ticket: &Option<String>) -> &str {
    ticket.as_deref().unwrap_or("nobody")
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Version { found } => write!(
                f,
                "version: results format {found} is not one this verifier knows ({RESULTS_VERSION})"
            ),
            Difference::Algorithm { found } => {
                write!(f, "algorithm: `{found}` is not {ALGORITHM}")
            }
            Difference::Malformed { field, problem } => write!(f, "{field}: {problem}"),
            Difference::Commitment { published, computed } => write!(
                f,
                "commitment: {published} is not SHA-256 of the revealed seed ({computed})"
            ),
            Difference::List(e) => write!(f, "list: {e}"),
            Difference::ListHash { published, computed } => write!(
                f,
                "list hash: {published} is not SHA-256 of the published list ({computed})"
            ),
            Difference::BeaconRandomness {
                round,
                published,
                computed,
            } => write!(
                f,
                "beacon randomness: round {round}'s randomness {published} is not SHA-256 of its signature ({computed})"
            ),
            Difference::BeaconRound {
                published,
                expected,
            } => write!(
                f,
                "beacon round: {published} is not the first round published after the list was frozen ({expected})"
            ),
            Difference::BeaconSignature { round, problem } => {
                write!(f, "beacon signature: round {round}: {problem}")
            }
            Difference::OrderLength {
                published,
                expected,
            } => write!(
                f,
                "order: {published} tickets published, the draw places {expected}"
            ),
            Difference::Order {
                position,
                expected,
                published,
            } => write!(
                f,
                "order at position {position}: the draw gives {expected}, the results say {published}"
            ),
            Difference::Redraw { number, problem } => write!(f, "redraw {number}: {problem}"),
            Difference::WinnersLength {
                published,
                expected,
            } => write!(
                f,
                "winners: {published} prizes published, {expected} drawn"
            ),
            Difference::Winner {
                rank,
                expected,
                published,
            } => write!(
                f,
                "winner of prize {rank}: the draw gives {}, the results say {}",
                or_nobody(expected),
                or_nobody(published)
            ),
        }
    }
}

impl std::error::Error for Difference {}

/// A draw that cannot be run: its beacon round is not usable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultsError(pub Difference);

impl fmt::Display for ResultsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the draw cannot run: {}", self.0)
    }
}

impl std::error::Error for ResultsError {}

/// A redraw that cannot be recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedrawError {
    /// The ticket is not in the published order (it can hold no prize).
    NotDrawn(String),
    /// The ticket cannot lose a prize now (it holds none to pass on, or is already struck out).
    Refused(String),
}

impl fmt::Display for RedrawError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedrawError::NotDrawn(ticket) => write!(
                f,
                "ticket {ticket} is not among the winners and alternates drawn"
            ),
            RedrawError::Refused(problem) => f.write_str(problem),
        }
    }
}

impl std::error::Error for RedrawError {}

/// The inputs of a draw, as the product holds them at the end of a campaign.
pub struct DrawInputs<'a> {
    pub seed: &'a Seed,
    pub list: FrozenList,
    pub frozen_at_ms: Option<i64>,
    pub beacon: Option<BeaconRound>,
    pub winners: u32,
    pub alternates: u32,
}

/// Runs the draw and writes its results, with no redraws yet. With fewer tickets than prizes,
/// every ticket wins and the remaining prizes are held by nobody (`null`), with no alternates;
/// with no tickets at all, nobody wins.
pub fn run_draw(inputs: DrawInputs<'_>) -> Result<DrawResults, ResultsError> {
    let randomness = match &inputs.beacon {
        Some(round) => Some(round.checked_randomness().map_err(ResultsError)?),
        None => None,
    };
    let list = inputs.list;
    let order = draw_order(inputs.seed, &list, randomness.as_ref());
    let placed = placed(inputs.winners, inputs.alternates, list.len());
    let order: Vec<String> = order[..placed]
        .iter()
        .map(|&i| list.tickets()[i as usize].clone())
        .collect();
    let winners = Walk::start(inputs.winners, placed).winners(&order);
    Ok(DrawResults {
        version: RESULTS_VERSION,
        algorithm: ALGORITHM.into(),
        commitment: inputs.seed.commitment(),
        seed: inputs.seed.reveal(),
        frozen_at_ms: inputs.frozen_at_ms,
        list_sha256: hex::encode(list.sha256()),
        tickets: list.into_tickets(),
        beacon: inputs.beacon,
        winners_count: inputs.winners,
        alternates_count: inputs.alternates,
        order,
        winners,
        redraws: Vec::new(),
    })
}

/// How many of the order can hold a prize: N + A, or every ticket when there are fewer.
fn placed(winners: u32, alternates: u32, tickets: usize) -> usize {
    let wanted = u64::from(winners) + u64::from(alternates);
    usize::try_from(wanted).map_or(tickets, |wanted| wanted.min(tickets))
}

/// Who holds which prize while redraws walk down the order (positions from 0 here).
struct Walk {
    holders: Vec<Option<usize>>,
    /// The first position not yet placed.
    next: usize,
    /// Positions that lost their prize or their place.
    struck: HashSet<usize>,
    placed: usize,
}

impl Walk {
    fn start(winners: u32, placed: usize) -> Walk {
        let holders: Vec<Option<usize>> = (0..winners as usize)
            .map(|rank| (rank < placed).then_some(rank))
            .collect();
        Walk {
            next: holders.len().min(placed),
            holders,
            struck: HashSet::new(),
            placed,
        }
    }

    fn winners(&self, order: &[String]) -> Vec<Option<String>> {
        self.holders
            .iter()
            .map(|holder| holder.map(|position| order[position].clone()))
            .collect()
    }

    /// Takes `position` out: its prize (if it holds one) passes to the next position not placed
    /// nor struck out. Returns (the rank it held, the position that holds it now).
    fn strike(
        &mut self,
        position: usize,
        outcome: RedrawOutcome,
    ) -> Result<(Option<usize>, Option<usize>), String> {
        if position >= self.placed {
            return Err(format!(
                "position {} is beyond the {} tickets drawn",
                position + 1,
                self.placed
            ));
        }
        if self.struck.contains(&position) {
            return Err(format!(
                "the ticket at position {} was already struck out",
                position + 1
            ));
        }
        let rank = self.holders.iter().position(|h| *h == Some(position));
        let Some(rank) = rank else {
            if outcome == RedrawOutcome::PassedToAlternate {
                return Err(format!(
                    "the ticket at position {} holds no prize to pass on",
                    position + 1
                ));
            }
            self.struck.insert(position);
            return Ok((None, None));
        };
        self.struck.insert(position);
        while self.next < self.placed && self.struck.contains(&self.next) {
            self.next += 1;
        }
        let successor = (self.next < self.placed).then_some(self.next);
        if successor.is_some() {
            self.next += 1;
        }
        self.holders[rank] = successor;
        Ok((Some(rank), successor))
    }

    /// Replays recorded redraws, checking each against the walk.
    fn replay(winners: u32, order: &[String], redraws: &[Redraw]) -> Result<Walk, Difference> {
        let mut walk = Walk::start(winners, order.len());
        for (i, redraw) in redraws.iter().enumerate() {
            let problem = |problem: String| Difference::Redraw {
                number: i + 1,
                problem,
            };
            let position = (redraw.position as usize)
                .checked_sub(1)
                .ok_or_else(|| problem("positions count from 1".into()))?;
            if order.get(position) != Some(&redraw.ticket) {
                return Err(problem(format!(
                    "ticket {} is not at position {} of the order",
                    redraw.ticket, redraw.position
                )));
            }
            let (rank, successor) = walk.strike(position, redraw.outcome).map_err(problem)?;
            let rank = rank.map(|r| r as u32 + 1);
            if rank != redraw.rank {
                return Err(problem(format!(
                    "ticket {} held prize {}, not {}",
                    redraw.ticket,
                    rank.map_or("none".into(), |r| r.to_string()),
                    redraw.rank.map_or("none".into(), |r| r.to_string()),
                )));
            }
            let successor = successor.map(|p| Placed {
                ticket: order[p].clone(),
                position: p as u32 + 1,
            });
            if successor != redraw.replaced_by {
                let name = |p: &Option<Placed>| {
                    p.as_ref().map_or("nobody".to_string(), |p| {
                        format!("{} (position {})", p.ticket, p.position)
                    })
                };
                return Err(problem(format!(
                    "the prize passes to {}, the results say {}",
                    name(&successor),
                    name(&redraw.replaced_by)
                )));
            }
        }
        Ok(walk)
    }
}

impl DrawResults {
    /// Records that `ticket` lost its prize (or, disqualified, its place among the alternates):
    /// the prize passes to the next ticket down the published order that is not placed or
    /// struck out, or to nobody when none is left. Never a new draw.
    pub fn record_redraw(
        &mut self,
        ticket: &str,
        outcome: RedrawOutcome,
        reason: &str,
    ) -> Result<Redraw, RedrawError> {
        let position = self
            .order
            .iter()
            .position(|t| t == ticket)
            .ok_or_else(|| RedrawError::NotDrawn(ticket.to_string()))?;
        let mut walk = Walk::replay(self.winners_count, &self.order, &self.redraws)
            .map_err(|d| RedrawError::Refused(d.to_string()))?;
        let (rank, successor) = walk
            .strike(position, outcome)
            .map_err(RedrawError::Refused)?;
        let redraw = Redraw {
            ticket: ticket.to_string(),
            position: position as u32 + 1,
            outcome,
            reason: reason.to_string(),
            rank: rank.map(|r| r as u32 + 1),
            replaced_by: successor.map(|p| Placed {
                ticket: self.order[p].clone(),
                position: p as u32 + 1,
            }),
        };
        self.redraws.push(redraw.clone());
        self.winners = walk.winners(&self.order);
        Ok(redraw)
    }

    /// The tickets drawn as alternates (after the winners), in order.
    pub fn alternates(&self) -> &[String] {
        let start = (self.winners_count as usize).min(self.order.len());
        &self.order[start..]
    }
}

/// Recomputes the draw from `results` alone and names the first difference: commitment, list,
/// list hash, beacon randomness, round and signature ([`beacon::check_signature`]), the order
/// position by position, each redraw, each winner.
pub fn verify(results: &DrawResults) -> Result<(), Difference> {
    verify_with_notes(results).map(|_| ())
}

/// [`verify`], and on success what was (not) proven, in words: how the beacon's signature was
/// checked, or that the draw used no beacon.
pub fn verify_with_notes(results: &DrawResults) -> Result<Vec<String>, Difference> {
    if results.version != RESULTS_VERSION {
        return Err(Difference::Version {
            found: results.version,
        });
    }
    if results.algorithm != ALGORITHM {
        return Err(Difference::Algorithm {
            found: results.algorithm.clone(),
        });
    }
    let seed = Seed::from_hex(&results.seed).map_err(|e| Difference::Malformed {
        field: "seed",
        problem: e.to_string(),
    })?;
    let computed = seed.commitment();
    if !results.commitment.eq_ignore_ascii_case(&computed) {
        return Err(Difference::Commitment {
            published: results.commitment.clone(),
            computed,
        });
    }
    let list = FrozenList::published(results.tickets.clone()).map_err(Difference::List)?;
    let list_hash = list.sha256();
    let computed = hex::encode(list_hash);
    if !results.list_sha256.eq_ignore_ascii_case(&computed) {
        return Err(Difference::ListHash {
            published: results.list_sha256.clone(),
            computed,
        });
    }
    let mut notes = Vec::new();
    let randomness = match &results.beacon {
        Some(round) => {
            let randomness = round.checked_randomness()?;
            if let (Some(frozen_at_ms), Some(genesis_time), Some(period)) =
                (results.frozen_at_ms, round.genesis_time, round.period)
            {
                let expected = beacon::first_round_after(genesis_time, period, frozen_at_ms);
                if round.round != expected {
                    return Err(Difference::BeaconRound {
                        published: round.round,
                        expected,
                    });
                }
            }
            notes.push(beacon::check_signature(round)?.message().to_string());
            Some(randomness)
        }
        None => {
            notes.push(
                "no beacon round: the draw rests on the seed committed to at publication".into(),
            );
            None
        }
    };

    let order = draw_order(&seed, &list, randomness.as_ref());
    let placed = placed(results.winners_count, results.alternates_count, list.len());
    if results.order.len() != placed {
        return Err(Difference::OrderLength {
            published: results.order.len(),
            expected: placed,
        });
    }
    for (position, (&index, published)) in order.iter().zip(&results.order).enumerate() {
        let expected = &list.tickets()[index as usize];
        if expected != published {
            return Err(Difference::Order {
                position: position + 1,
                expected: expected.clone(),
                published: published.clone(),
            });
        }
    }

    let walk = Walk::replay(results.winners_count, &results.order, &results.redraws)?;
    let winners = walk.winners(&results.order);
    if winners.len() != results.winners.len() {
        return Err(Difference::WinnersLength {
            published: results.winners.len(),
            expected: winners.len(),
        });
    }
    for (rank, (expected, published)) in winners.into_iter().zip(&results.winners).enumerate() {
        if &expected != published {
            return Err(Difference::Winner {
                rank: rank + 1,
                expected,
                published: published.clone(),
            });
        }
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draws::tickets::new_ticket;

    fn tickets(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("T{i:05}")).collect()
    }

    fn seed(byte: u8) -> Seed {
        Seed::from_bytes([byte; 32])
    }

    fn draw(seed: &Seed, tickets: Vec<String>, winners: u32, alternates: u32) -> DrawResults {
        run_draw(DrawInputs {
            seed,
            list: FrozenList::freeze(tickets).unwrap(),
            frozen_at_ms: None,
            beacon: None,
            winners,
            alternates,
        })
        .unwrap()
    }

    fn full_order(seed: &Seed, tickets: Vec<String>) -> Vec<String> {
        let list = FrozenList::freeze(tickets).unwrap();
        draw_order(seed, &list, None)
            .into_iter()
            .map(|i| list.tickets()[i as usize].clone())
            .collect()
    }

    #[test]
    fn the_same_inputs_give_the_same_order() {
        let a = draw(&seed(1), tickets(50), 3, 2);
        let b = draw(&seed(1), tickets(50), 3, 2);
        assert_eq!(a, b);
        assert_eq!(verify(&a), Ok(()));
        let other = draw(&seed(2), tickets(50), 3, 2);
        assert_ne!(a.order, other.order, "another seed, another order");
    }

    #[test]
    fn the_order_does_not_depend_on_the_order_tickets_came_in() {
        let mut reversed = tickets(200);
        reversed.reverse();
        assert_eq!(
            full_order(&seed(7), tickets(200)),
            full_order(&seed(7), reversed)
        );
    }

    #[test]
    fn the_order_is_the_documented_algorithm() {
        // Written out from the module documentation, independently of `draw_order`.
        let seed = seed(9);
        let list = ["A1", "B2", "C3", "D4"];
        let text: String = list.iter().map(|t| format!("{t}\n")).collect();
        let list_hash = Sha256::digest(text.as_bytes());
        let key = Sha256::digest([seed.bytes().as_slice(), list_hash.as_slice()].concat());
        let mut expected: Vec<(Vec<u8>, &str)> = list
            .iter()
            .map(|t| {
                let score = Sha256::digest([key.as_slice(), t.as_bytes()].concat());
                (score.to_vec(), *t)
            })
            .collect();
        expected.sort();
        let expected: Vec<String> = expected.into_iter().map(|(_, t)| t.to_string()).collect();
        let order = full_order(&seed, list.iter().map(|t| t.to_string()).collect());
        assert_eq!(order, expected);
    }

    #[test]
    fn every_ticket_appears_once_in_the_full_order() {
        let all: Vec<String> = (0..1000).map(|_| new_ticket()).collect();
        let order = full_order(&seed(3), all.clone());
        assert_eq!(order.len(), all.len());
        let unique: HashSet<&String> = order.iter().collect();
        assert_eq!(unique.len(), all.len());
    }

    #[test]
    fn winners_and_alternates_never_exceed_the_tickets() {
        let results = draw(&seed(4), tickets(5), 3, 10);
        assert_eq!(results.order.len(), 5);
        assert_eq!(results.winners.len(), 3);
        assert!(results.winners.iter().all(Option::is_some));
        assert_eq!(results.alternates().len(), 2);
        assert_eq!(verify(&results), Ok(()));

        // More prizes than tickets: every ticket wins, the rest are held by nobody.
        let few = draw(&seed(4), tickets(2), 5, 3);
        assert_eq!(few.order.len(), 2);
        assert_eq!(
            few.winners.iter().filter(|w| w.is_some()).count(),
            2,
            "{few:?}"
        );
        assert!(few.winners[2..].iter().all(Option::is_none));
        assert_eq!(few.winners.len(), 5);
        assert!(few.alternates().is_empty());
        assert_eq!(verify(&few), Ok(()));
    }

    #[test]
    fn no_tickets_draw_nobody_and_still_verify() {
        let none = draw(&seed(5), Vec::new(), 2, 2);
        assert!(none.order.is_empty());
        assert_eq!(none.winners, vec![None::<String>, None]);
        assert_eq!(none.list_sha256, crate::draws::sha256_hex(b""));
        assert_eq!(verify(&none), Ok(()));
    }

    #[test]
    fn a_changed_list_fails_verification() {
        let results = draw(&seed(6), tickets(20), 2, 2);

        let mut added = results.clone();
        added.tickets.push("T99999".into());
        assert!(matches!(verify(&added), Err(Difference::ListHash { .. })));

        // The list changed and its hash with it: the commitment still binds the seed, and the
        // order no longer matches.
        let mut rehashed = results.clone();
        rehashed.tickets.retain(|t| t != &results.order[0]);
        rehashed.list_sha256 = hex::encode(
            FrozenList::published(rehashed.tickets.clone())
                .unwrap()
                .sha256(),
        );
        assert!(matches!(
            verify(&rehashed),
            Err(Difference::Order { position: 1, .. })
        ));

        let mut unsorted = results.clone();
        unsorted.tickets.swap(0, 1);
        assert!(matches!(
            verify(&unsorted),
            Err(Difference::List(ListError::NotSorted { line: 2, .. }))
        ));
    }

    #[test]
    fn a_changed_seed_fails_verification() {
        let results = draw(&seed(8), tickets(20), 2, 2);
        let mut changed = results.clone();
        changed.seed = seed(9).reveal();
        let err = verify(&changed).unwrap_err();
        assert!(matches!(err, Difference::Commitment { .. }), "{err}");
        assert!(err.to_string().starts_with("commitment: "), "{err}");

        // A new seed with its own commitment: the order gives it away.
        changed.commitment = seed(9).commitment();
        assert!(matches!(verify(&changed), Err(Difference::Order { .. })));
    }

    #[test]
    fn a_changed_order_or_winner_fails_naming_the_position() {
        let results = draw(&seed(10), tickets(20), 2, 2);
        let mut swapped = results.clone();
        swapped.order.swap(1, 2);
        let err = verify(&swapped).unwrap_err();
        assert!(
            matches!(err, Difference::Order { position: 2, .. }),
            "{err}"
        );
        assert!(
            err.to_string().starts_with("order at position 2: "),
            "{err}"
        );

        let mut winner = results.clone();
        winner.winners[1] = Some(results.order[3].clone());
        assert!(matches!(
            verify(&winner),
            Err(Difference::Winner { rank: 2, .. })
        ));
    }

    #[test]
    fn a_beacon_round_enters_the_key_and_must_derive_from_its_signature() {
        let signature = hex::encode([7u8; 48]);
        let round = BeaconRound {
            url: "http://beacon.test".into(),
            round: 12,
            randomness: crate::draws::sha256_hex(&[7u8; 48]),
            signature,
            previous_signature: None,
            scheme: Some("test".into()),
            public_key: None,
            chain_hash: None,
            genesis_time: Some(1_000),
            period: Some(3),
        };
        let the_seed = seed(1);
        let inputs = |beacon| DrawInputs {
            seed: &the_seed,
            list: FrozenList::freeze(tickets(30)).unwrap(),
            // Round 12 is published at 1000 + 11 * 3 = 1033 s: the first after 1031.5 s.
            frozen_at_ms: Some(1_031_500),
            beacon,
            winners: 3,
            alternates: 0,
        };
        let with = run_draw(inputs(Some(round.clone()))).unwrap();
        let without = run_draw(inputs(None)).unwrap();
        assert_ne!(with.order, without.order);
        assert_eq!(verify(&with), Ok(()));

        let mut later = with.clone();
        later.beacon.as_mut().unwrap().round = 13;
        assert_eq!(
            verify(&later),
            Err(Difference::BeaconRound {
                published: 13,
                expected: 12
            })
        );
        let mut forged = with.clone();
        forged.beacon.as_mut().unwrap().randomness = crate::draws::sha256_hex(b"other");
        assert!(matches!(
            verify(&forged),
            Err(Difference::BeaconRandomness { round: 12, .. })
        ));
        let mut bad = round;
        bad.randomness = "zz".into();
        assert!(run_draw(inputs(Some(bad))).is_err());
    }

    #[test]
    fn redraws_walk_down_the_order_and_verify() {
        let mut results = draw(&seed(11), tickets(10), 2, 2);
        let order = results.order.clone();
        assert_eq!(
            results.winners,
            [Some(order[0].clone()), Some(order[1].clone())]
        );

        // An alternate disqualified before it wins anything is skipped later.
        let struck = results
            .record_redraw(&order[2], RedrawOutcome::Disqualified, "two entries")
            .unwrap();
        assert_eq!((struck.rank, struck.replaced_by), (None, None));

        let passed = results
            .record_redraw(&order[0], RedrawOutcome::PassedToAlternate, "not claimed")
            .unwrap();
        assert_eq!(passed.rank, Some(1));
        assert_eq!(
            passed.replaced_by,
            Some(Placed {
                ticket: order[3].clone(),
                position: 4
            })
        );
        assert_eq!(
            results.winners,
            [Some(order[3].clone()), Some(order[1].clone())]
        );
        assert_eq!(verify(&results), Ok(()));

        // No alternate left: the prize is held by nobody rather than drawn again.
        let last = results
            .record_redraw(&order[1], RedrawOutcome::Disqualified, "fake account")
            .unwrap();
        assert_eq!(last.replaced_by, None);
        assert_eq!(results.winners, [Some(order[3].clone()), None]);
        assert_eq!(verify(&results), Ok(()));

        // Refused: twice, a prize it does not hold, a ticket not drawn.
        let not_drawn = results
            .tickets
            .iter()
            .find(|t| !order.contains(t))
            .unwrap()
            .clone();
        assert!(matches!(
            results.record_redraw(&order[1], RedrawOutcome::Disqualified, "again"),
            Err(RedrawError::Refused(_))
        ));
        assert!(matches!(
            results.record_redraw(&order[0], RedrawOutcome::PassedToAlternate, "again"),
            Err(RedrawError::Refused(_))
        ));
        assert!(matches!(
            results.record_redraw(&not_drawn, RedrawOutcome::Disqualified, "?"),
            Err(RedrawError::NotDrawn(_))
        ));

        // A record that walks elsewhere than the order fails.
        let mut forged = results.clone();
        forged.redraws[1].replaced_by = Some(Placed {
            ticket: order[2].clone(),
            position: 3,
        });
        assert!(matches!(
            verify(&forged),
            Err(Difference::Redraw { number: 2, .. })
        ));
    }

    #[test]
    fn results_round_trip_through_json() {
        let mut results = draw(&seed(12), tickets(8), 2, 1);
        let first = results.order[0].clone();
        results
            .record_redraw(&first, RedrawOutcome::PassedToAlternate, "not claimed")
            .unwrap();
        let json = serde_json::to_string_pretty(&results).unwrap();
        assert!(json.contains("\"passed_to_alternate\""), "{json}");
        let back: DrawResults = serde_json::from_str(&json).unwrap();
        assert_eq!(back, results);
        assert_eq!(verify(&back), Ok(()));
    }

    #[test]
    fn the_seed_is_never_shown_by_debug() {
        let seed = seed(13);
        let shown = format!("{seed:?}");
        assert!(!shown.contains(&seed.reveal()), "{shown}");
        assert!(shown.contains(&seed.commitment()), "{shown}");
    }
}
