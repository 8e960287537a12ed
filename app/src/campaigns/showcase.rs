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

use super::store::{self, Published};
use crate::db::Db;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// How long a copy is used.
const FRESH_FOR: Duration = Duration::from_secs(1);
/// Beyond this many copies every copy is dropped: slugs are few, so this only stops a flood of
/// different slugs from growing memory (slugs that match nothing are never kept anyway).
const MAX_COPIES: usize = 10_000;

#[derive(Default)]
pub struct Showcase {
    copies: Mutex<HashMap<String, (Instant, Arc<Published>)>>,
    /// Rendered pages by (slug, variant), each with the copy it was rendered from: a page is
    /// used only with that very copy (`Arc::ptr_eq`; the kept `Arc` stops its address from being
    /// reused by another campaign).
    pages: Mutex<HashMap<PageKey, Rendered>>,
}

/// (slug, variant) of a rendered page.
type PageKey = (String, String);
/// A rendered page and the copy of its campaign it was rendered from.
type Rendered = (Arc<Published>, Arc<str>);

impl Showcase {
    /// The published campaign at `slug`, from a fresh copy or the database.
    pub async fn find(&self, db: &Db, slug: &str) -> Result<Option<Arc<Published>>, sqlx::Error> {
        if let Some(copy) = self.fresh(slug) {
            return Ok(Some(copy));
        }
        let Some(found) = store::find_published(db, slug).await? else {
            return Ok(None);
        };
        let found = Arc::new(found);
        let mut copies = self.copies.lock().expect("showcase lock");
        if copies.len() >= MAX_COPIES {
            copies.clear();
        }
        copies.insert(slug.to_string(), (Instant::now(), found.clone()));
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

    fn fresh(&self, slug: &str) -> Option<Arc<Published>> {
        let copies = self.copies.lock().expect("showcase lock");
        copies
            .get(slug)
            .filter(|(kept, _)| kept.elapsed() < FRESH_FOR)
            .map(|(_, copy)| copy.clone())
    }
}
