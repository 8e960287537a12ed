//! Winners (issue #16): the draw's commitment made when a campaign is published, each confirmed
//! entry's public ticket, the list frozen at the end, the draw's outcome, claims, prizes passing
//! to alternates, and the public results page. The draw itself (a pure function of seed, list
//! and beacon) lives in `crate::draws`; this module keeps what it needs and what it decided.

#[cfg(feature = "ssr")]
pub mod results;
#[cfg(feature = "ssr")]
pub mod store;
