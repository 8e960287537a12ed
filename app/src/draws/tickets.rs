//! Public tickets and the frozen list they are drawn from.
//!
//! A ticket is what an entrant is shown and what the results page names instead of a person: 10
//! characters of Crockford's base32 alphabet (digits and capitals without I, L, O, U), made from
//! the operating system's random source. 50 bits: among a million tickets, two equal ones are
//! about a 1 in 2,000 chance, so the store must still refuse a duplicate and make another.

use rand::{rngs::OsRng, RngCore};
use sha2::{Digest, Sha256};
use std::fmt;

/// The characters of a ticket: Crockford's base32, which a person can read out and type back
/// (no I/1, L/1 or O/0 to confuse, no U).
pub const TICKET_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a ticket made by [`new_ticket`].
pub const TICKET_LEN: usize = 10;
/// The longest ticket a published list may hold (room for a longer format later).
pub const MAX_TICKET_LEN: usize = 32;

/// A fresh ticket, e.g. `7KQ2M9XH4D`.
pub fn new_ticket() -> String {
    let mut bytes = [0u8; TICKET_LEN];
    OsRng.fill_bytes(&mut bytes);
    // 256 is a multiple of 32: the low five bits of a random byte are uniform.
    bytes
        .iter()
        .map(|b| TICKET_ALPHABET[usize::from(b & 31)] as char)
        .collect()
}

/// A ticket as a person typed it, in the canonical form, or `None` when it cannot be one:
/// spaces and hyphens are dropped, letters capitalised, and O read as 0, I and L as 1 (Crockford's
/// decoding rules).
pub fn normalize_ticket(typed: &str) -> Option<String> {
    let ticket: String = typed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    (ticket.len() == TICKET_LEN && is_valid_ticket(&ticket)).then_some(ticket)
}

/// Whether `ticket` may stand in a published list: 1 to [`MAX_TICKET_LEN`] characters of
/// [`TICKET_ALPHABET`].
pub fn is_valid_ticket(ticket: &str) -> bool {
    (1..=MAX_TICKET_LEN).contains(&ticket.len())
        && ticket.bytes().all(|b| TICKET_ALPHABET.contains(&b))
}

/// The eligible tickets at the end of a campaign, sorted (byte order) and without duplicates:
/// what the draw runs over and what is published. Its text is one ticket per line, each line
/// ending in `\n` (an empty list is the empty text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrozenList {
    tickets: Vec<String>,
}

/// Why a list of tickets cannot be frozen or was not published as one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListError {
    /// Line `line` (from 1) is not a ticket.
    Malformed { line: usize, ticket: String },
    /// The same ticket twice (line of the second one, from 1).
    Duplicate { line: usize, ticket: String },
    /// A published list out of order: line `line` should come before the one above it.
    NotSorted { line: usize, ticket: String },
    /// More tickets than the draw can number (over 4 billion).
    TooLong,
}

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListError::Malformed { line, ticket } => {
                write!(f, "line {line} `{ticket}` is not a ticket")
            }
            ListError::Duplicate { line, ticket } => {
                write!(f, "line {line}: ticket {ticket} appears twice")
            }
            ListError::NotSorted { line, ticket } => {
                write!(f, "line {line}: ticket {ticket} is out of sorted order")
            }
            ListError::TooLong => f.write_str("more than 4,294,967,295 tickets"),
        }
    }
}

impl std::error::Error for ListError {}

impl FrozenList {
    /// Freezes the eligible tickets, in any order: sorts them, and refuses a malformed ticket
    /// or one that appears twice (a store that let a duplicate through has a bug the draw must
    /// not hide).
    pub fn freeze(tickets: impl IntoIterator<Item = String>) -> Result<Self, ListError> {
        let mut tickets: Vec<String> = tickets.into_iter().collect();
        tickets.sort_unstable();
        Self::check(&tickets, |line, ticket| ListError::Duplicate {
            line,
            ticket,
        })?;
        Ok(FrozenList { tickets })
    }

    /// Reads a list as it was published: it must already be sorted, so a reordered list is a
    /// difference to report, not something to quietly repair.
    pub fn published(tickets: Vec<String>) -> Result<Self, ListError> {
        Self::check(&tickets, |line, ticket| ListError::NotSorted {
            line,
            ticket,
        })?;
        Ok(FrozenList { tickets })
    }

    /// Checks a list in sorted order; `unordered` names a line that is not above the previous.
    fn check(
        tickets: &[String],
        unordered: impl Fn(usize, String) -> ListError,
    ) -> Result<(), ListError> {
        if u32::try_from(tickets.len()).is_err() {
            return Err(ListError::TooLong);
        }
        for (i, ticket) in tickets.iter().enumerate() {
            if !is_valid_ticket(ticket) {
                return Err(ListError::Malformed {
                    line: i + 1,
                    ticket: ticket.clone(),
                });
            }
            if i > 0 {
                let previous = &tickets[i - 1];
                if previous == ticket {
                    return Err(ListError::Duplicate {
                        line: i + 1,
                        ticket: ticket.clone(),
                    });
                }
                if previous > ticket {
                    return Err(unordered(i + 1, ticket.clone()));
                }
            }
        }
        Ok(())
    }

    pub fn tickets(&self) -> &[String] {
        &self.tickets
    }

    pub fn len(&self) -> usize {
        self.tickets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tickets.is_empty()
    }

    pub fn into_tickets(self) -> Vec<String> {
        self.tickets
    }

    /// The published text: one ticket per line, each line ending in `\n`.
    pub fn text(&self) -> String {
        let mut text = String::with_capacity(self.tickets.len() * (TICKET_LEN + 1));
        for ticket in &self.tickets {
            text.push_str(ticket);
            text.push('\n');
        }
        text
    }

    /// SHA-256 of [`FrozenList::text`], hashed line by line (a million tickets need no copy).
    pub fn sha256(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        for ticket in &self.tickets {
            hash.update(ticket.as_bytes());
            hash.update(b"\n");
        }
        hash.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_tickets_are_ten_characters_of_the_alphabet_and_differ() {
        let a = new_ticket();
        let b = new_ticket();
        assert_eq!(a.len(), TICKET_LEN);
        assert!(is_valid_ticket(&a), "{a}");
        assert_ne!(a, b);
        assert_eq!(normalize_ticket(&a).as_deref(), Some(a.as_str()));
    }

    #[test]
    fn typed_tickets_are_read_the_crockford_way() {
        assert_eq!(
            normalize_ticket("7kq2-m9xh 4o").as_deref(),
            Some("7KQ2M9XH40")
        );
        assert_eq!(
            normalize_ticket("il23456789").as_deref(),
            Some("1123456789")
        );
        assert_eq!(
            normalize_ticket("UUUUUUUUUU"),
            None,
            "U is not in the alphabet"
        );
        assert_eq!(normalize_ticket("7KQ2M9XH4"), None, "too short");
    }

    #[test]
    fn a_frozen_list_is_sorted_and_hashed_as_its_text() {
        let list = FrozenList::freeze(["BB".to_string(), "A1".into(), "9Z".into()]).unwrap();
        assert_eq!(list.tickets(), ["9Z", "A1", "BB"]);
        assert_eq!(list.text(), "9Z\nA1\nBB\n");
        assert_eq!(
            hex::encode(list.sha256()),
            crate::draws::sha256_hex(b"9Z\nA1\nBB\n")
        );
        let empty = FrozenList::freeze(Vec::new()).unwrap();
        assert_eq!(empty.text(), "");
        assert_eq!(hex::encode(empty.sha256()), crate::draws::sha256_hex(b""));
    }

    #[test]
    fn bad_lists_are_refused_naming_the_line() {
        assert_eq!(
            FrozenList::freeze(["AB".to_string(), "AB".into()]).unwrap_err(),
            ListError::Duplicate {
                line: 2,
                ticket: "AB".into()
            }
        );
        assert!(matches!(
            FrozenList::freeze(["ab".to_string()]).unwrap_err(),
            ListError::Malformed { line: 1, .. }
        ));
        assert!(matches!(
            FrozenList::freeze(["".to_string()]).unwrap_err(),
            ListError::Malformed { line: 1, .. }
        ));
        assert_eq!(
            FrozenList::published(vec!["B1".into(), "A1".into()]).unwrap_err(),
            ListError::NotSorted {
                line: 2,
                ticket: "A1".into()
            }
        );
    }
}
