//! The draw: who wins, decided by a function anyone can recompute without our database.
//!
//! The draw is a pure function of three inputs, all published with the results:
//! - the **seed**, 32 random bytes made at publish time and kept secret until the draw; its
//!   SHA-256, the **commitment**, is shown from publication on, so the seed cannot be changed
//!   once entries start ([`Seed`]);
//! - the **frozen list** of tickets, sorted, one per line, each line ending in `\n`; its SHA-256
//!   is published with it ([`FrozenList`]);
//! - optionally the **randomness of a beacon round** (drand's HTTP API shape) published after the
//!   list was frozen ([`beacon`]), so that nobody, the server's owner included, could know the
//!   result while entries could still be added.
//!
//! The algorithm (also in the README, "The draw", and in `public/verify-draw.js`):
//! ```text
//! key      = SHA-256(seed ‖ SHA-256(list) ‖ beacon randomness)   (32 + 32 [+ 32] bytes)
//! score(t) = SHA-256(key ‖ t)                                     (t: the ticket's ASCII)
//! order    = all tickets by score, smallest first (bytes compared in order);
//!            equal scores (never seen) by ticket
//! ```
//! The first N of the order win, the next A are the alternates, in order. A prize that passes on
//! (unclaimed, or its winner disqualified) goes to the next ticket of that same order that is not
//! already placed or struck out: redraws walk further down, never with a new seed
//! ([`DrawResults::record_redraw`]).
//!
//! Server-only: the browser checks a draw with `public/verify-draw.js`, not with this code.

pub mod beacon;
mod order;
mod results;
mod tickets;

pub use order::{draw_key, draw_order, score, Seed, SeedError};
pub use results::{
    run_draw, verify, verify_with_notes, BeaconRound, Difference, DrawInputs, DrawResults, Placed,
    Redraw, RedrawError, RedrawOutcome, ResultsError, ALGORITHM, RESULTS_VERSION,
};
pub use tickets::{
    is_valid_ticket, new_ticket, normalize_ticket, FrozenList, ListError, MAX_TICKET_LEN,
    TICKET_ALPHABET, TICKET_LEN,
};

/// SHA-256 as lowercase hex: how every hash of the draw is published.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}
