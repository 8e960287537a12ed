//! Published campaigns as the public pages show them, kept for a second.
//!
//! A viral entry page is asked for thousands of times a second, and asking the database each time
//! (PostgreSQL above all: a round trip and a backend process per query) costs more than rendering
//! the page. A copy at most a second old changes nothing anyone can see: the page works out "not
//! started / live / ended" from the dates and the clock at each request, this instance forgets
//! every copy when an admin changes a campaign or a Page through it, and other instances catch up
//! within the second. Entering never uses a copy: it reads the database, so an entry is never
//! accepted or refused on stale dates.
//!
//! The page a visitor without an entry sees is the same for everyone for as long as the copy is
//! used, so it is kept with the copy too (`page`): rendered once per copy, per frame and per
//! stage of the campaign's life (worked out at each request, so a page never shows a stage the
//! clock has left).
//!
//! When a copy turns a second old, one request reads the campaign again and the others keep
//! using the copy meanwhile (for [`REFRESH_FOR`] at most). Every request reading it again at
//! the same moment had 256 connections' worth of queries queued on the database once a second:
//! that second's requests made the page's slowest (issue #19).

use super::store::{self, Published};
use crate::db::Db;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// How long a copy is used.
const FRESH_FOR: Duration = Duration::from_secs(1);
/// How long the other requests keep using a copy while one request reads the campaign again. A
/// read that takes longer (or whose request went away) lets the next request read it too.
const REFRESH_FOR: Duration = Duration::from_secs(2);
/// Beyond this many copies every copy is dropped: slugs are few, so this only stops a flood of
/// different slugs from growing memory (slugs that match nothing are never kept anyway).
const MAX_COPIES: usize = 10_000;

#[derive(Default)]
pub struct Showcase {
    copies: Mutex<HashMap<String, Kept>>,
    /// Rendered pages by (slug, variant), each with the copy it was rendered from: a page is
    /// used only with that very copy (`Arc::ptr_eq`; the kept `Arc` stops its address from being
    /// reused by another campaign).
    pages: Mutex<HashMap<PageKey, Rendered>>,
}

/// A copy: when it was read, and since when a request has been reading it again, if one is.
struct Kept {
    at: Instant,
    copy: Arc<Published>,
    refreshing_since: Option<Instant>,
}

/// (slug, variant) of a rendered page.
type PageKey = (String, String);
/// A rendered page and the copy of its campaign it was rendered from.
type Rendered = (Arc<Published>, Arc<str>);

impl Showcase {
    /// The published campaign at `slug`, from a fresh copy or the database.
    pub async fn find(&self, db: &Db, slug: &str) -> Result<Option<Arc<Published>>, sqlx::Error> {
        {
            let mut copies = self.copies.lock().expect("showcase lock");
            if let Some(kept) = copies.get_mut(slug) {
                let refreshing = kept
                    .refreshing_since
                    .is_some_and(|since| since.elapsed() < REFRESH_FOR);
                if kept.at.elapsed() < FRESH_FOR || refreshing {
                    return Ok(Some(kept.copy.clone()));
                }
                // This request reads it again; the others use the copy meanwhile.
                kept.refreshing_since = Some(Instant::now());
            }
        }
        let found = match store::find_published(db, slug).await {
            Ok(found) => found,
            Err(e) => {
                // The next request tries again.
                let mut copies = self.copies.lock().expect("showcase lock");
                if let Some(kept) = copies.get_mut(slug) {
                    kept.refreshing_since = None;
                }
                return Err(e);
            }
        };
        let mut copies = self.copies.lock().expect("showcase lock");
        let Some(found) = found else {
            copies.remove(slug);
            return Ok(None);
        };
        let found = Arc::new(found);
        if copies.len() >= MAX_COPIES {
            copies.clear();
        }
        let kept = Kept {
            at: Instant::now(),
            copy: found.clone(),
            refreshing_since: None,
        };
        copies.insert(slug.to_string(), kept);
        Ok(Some(found))
    }

    /// Drops every copy: called after a change made through this instance, and by tests that
    /// change campaigns in the database directly.
    pub fn forget_all(&self) {
        self.copies.lock().expect("showcase lock").clear();
        self.pages.lock().expect("showcase lock").clear();
    }

    /// The page `variant` of this copy of a campaign, rendered once per copy.
    pub fn page(
        &self,
        campaign: &Arc<Published>,
        variant: String,
        render: impl FnOnce() -> String,
    ) -> Arc<str> {
        let key = (campaign.slug.clone(), variant);
        if let Some((from, html)) = self.pages.lock().expect("showcase lock").get(&key) {
            if Arc::ptr_eq(from, campaign) {
                return html.clone();
            }
        }
        let html: Arc<str> = render().into();
        let mut pages = self.pages.lock().expect("showcase lock");
        if pages.len() >= MAX_COPIES {
            pages.clear();
        }
        pages.insert(key, (campaign.clone(), html.clone()));
        html
    }
}
