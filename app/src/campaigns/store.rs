//! Campaign rows. Every function takes the admin's id and only touches campaigns of Pages that
//! admin may manage: the rights check lives in the query, where it cannot be forgotten.

use super::rules::{CampaignForm, FieldErrors};
use super::PublishState;
use crate::db::{new_id, now_ms, Db};
use crate::notices::NoticeStatus;
use crate::pages::{FacebookPageId, PageRowId};
use crate::stored::Flag;

/// Converts `YYYY-MM-DDTHH:MM` in `zone` to Unix milliseconds.
pub fn to_utc_ms(local: &str, zone: &str) -> Result<i64, String> {
    let civil: jiff::civil::DateTime = local
        .trim()
        .parse()
        .map_err(|_| "Not a date and time.".to_string())?;
    let tz = jiff::tz::TimeZone::get(zone.trim())
        .map_err(|_| format!("Unknown time zone `{}`.", zone.trim()))?;
    let zoned = civil.to_zoned(tz).map_err(|e| e.to_string())?;
    Ok(zoned.timestamp().as_millisecond())
}

/// Back from Unix milliseconds to the editor's local text.
pub fn to_local(ms: i64, zone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts
            .to_zoned(tz)
            .datetime()
            .strftime("%Y-%m-%dT%H:%M")
            .to_string(),
        Err(_) => String::new(),
    }
}

pub enum Saved {
    Ok(String),
    Invalid(FieldErrors),
    /// The admin may not manage this Page or campaign.
    Forbidden,
}

/// Creates (`id` None) or updates a campaign. Server-only checks (time zone, slug uniqueness)
/// come back as field errors like the shared ones.
pub async fn save(
    db: &Db,
    admin_id: &str,
    id: Option<&str>,
    form: &CampaignForm,
) -> Result<Saved, sqlx::Error> {
    let mut errors = super::rules::check(form);
    let starts = to_utc_ms(&form.starts_at, &form.time_zone);
    let ends = to_utc_ms(&form.ends_at, &form.time_zone);
    if let (Err(e), false) = (&starts, errors.contains_key("starts_at")) {
        let field = if e.starts_with("Unknown time zone") {
            "time_zone"
        } else {
            "starts_at"
        };
        errors.entry(field.into()).or_insert(e.clone());
    }
    if let (Ok(s), Ok(e)) = (&starts, &ends) {
        if e <= s {
            errors
                .entry("ends_at".into())
                .or_insert("The end must be after the start.".into());
        }
    }
    let managed = crate::pages::store::find_for_admin(db, admin_id, &form.page_id).await?;
    let Some(page) = managed.map(|p| p.id) else {
        // Shown beside the Page field: the admin picks from their own list, so this leaks nothing.
        errors.insert(
            "page_id".into(),
            "Connect this Page first, or choose one you manage.".into(),
        );
        return Ok(Saved::Invalid(errors));
    };
    if let Some(id) = id {
        let Some(current) = find_for_admin(db, admin_id, id).await? else {
            return Ok(Saved::Forbidden);
        };
        // What may no longer change once people take part (`lifecycle`), beside its field.
        if let (Ok(starts_at_ms), Ok(ends_at_ms)) = (&starts, &ends) {
            let edit = super::lifecycle::Edit {
                page_id: &form.page_id,
                starts_at_ms: *starts_at_ms,
                ends_at_ms: *ends_at_ms,
            };
            for (field, why) in super::lifecycle::check_edit(&current, &edit, now_ms()) {
                errors.entry(field).or_insert(why);
            }
        }
    }
    let taken: Option<String> = sqlx::query_scalar("SELECT id FROM campaigns WHERE slug = $1")
        .bind(form.slug.trim())
        .fetch_optional(db)
        .await?;
    if taken.is_some_and(|other| Some(other.as_str()) != id) {
        errors
            .entry("slug".into())
            .or_insert("This link is taken; choose another.".into());
    }
    if !errors.is_empty() {
        return Ok(Saved::Invalid(errors));
    }
    let (starts, ends) = (starts.unwrap_or_default(), ends.unwrap_or_default());
    // Checked with the rest of the form above.
    let draw = form.draw_settings().unwrap_or_default();
    let keyword = Some(form.automation_keyword.trim()).filter(|k| !k.is_empty());
    let image = Some(form.image_url.trim()).filter(|k| !k.is_empty());
    // One statement for create and edit: the same values, and an edit keeps its creator.
    let id = id.map(str::to_string).unwrap_or_else(new_id);
    let mut tx = db.begin().await?;
    let written = sqlx::query(
        "INSERT INTO campaigns (id, page_id, slug, title, description, prize, image_url, starts_at, ends_at,
           time_zone, rules, require_login, confirmation_enabled, confirmation_text, automation_keyword,
           notice_text, notice_path, tag_fallback, winners_count, alternates_count, claim_hours,
           draw_mode, prizes_by_rank, min_age, countries, consent_checkbox, created_by, created_at,
           updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                 $21, $22, $23, $24, $25, $26, $27, $28, $19, $20, $20)
         ON CONFLICT (id) DO UPDATE SET
           page_id = excluded.page_id, slug = excluded.slug, title = excluded.title,
           description = excluded.description, prize = excluded.prize, image_url = excluded.image_url,
           starts_at = excluded.starts_at, ends_at = excluded.ends_at, time_zone = excluded.time_zone,
           rules = excluded.rules, require_login = excluded.require_login,
           confirmation_enabled = excluded.confirmation_enabled, confirmation_text = excluded.confirmation_text,
           automation_keyword = excluded.automation_keyword, notice_text = excluded.notice_text,
           notice_path = excluded.notice_path, tag_fallback = excluded.tag_fallback,
           winners_count = excluded.winners_count, alternates_count = excluded.alternates_count,
           claim_hours = excluded.claim_hours, draw_mode = excluded.draw_mode,
           prizes_by_rank = excluded.prizes_by_rank, min_age = excluded.min_age,
           countries = excluded.countries, consent_checkbox = excluded.consent_checkbox,
           updated_at = excluded.updated_at",
    )
    .bind(&id)
    .bind(&page)
    .bind(form.slug.trim())
    .bind(form.title.trim())
    .bind(&form.description)
    .bind(form.prize.trim())
    .bind(image)
    .bind(starts)
    .bind(ends)
    .bind(form.time_zone.trim())
    .bind(&form.rules)
    .bind(Flag::stored(form.require_login))
    .bind(Flag::stored(form.confirmation_enabled))
    .bind(&form.confirmation_text)
    .bind(keyword)
    .bind(&form.notice_text)
    .bind(&form.notice_path)
    .bind(Flag::stored(form.tag_fallback))
    .bind(admin_id)
    .bind(now_ms())
    .bind(draw.winners)
    .bind(draw.alternates)
    .bind(draw.claim_hours)
    .bind(if draw.automatic {
        super::rules::DRAW_AUTO
    } else {
        super::rules::DRAW_MANUAL
    })
    .bind(form.prizes_by_rank.trim_end())
    .bind(super::rules::min_age(&form.min_age).ok().flatten())
    .bind(super::rules::countries(&form.countries).unwrap_or_default().join(","))
    .bind(Flag::stored(form.consent_checkbox))
    .execute(&mut *tx)
    .await;
    match written {
        // A new end date moves the end notice, in the same transaction.
        Ok(_) => crate::notices::schedule::sync_end_notice(&mut tx, &id).await?,
        // Another save took the slug between our check and this write.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            errors.insert("slug".into(), "This link is taken; choose another.".into());
            return Ok(Saved::Invalid(errors));
        }
        Err(e) => return Err(e),
    }
    tx.commit().await?;
    Ok(Saved::Ok(id))
}

/// Whether a campaign other than `except` uses this link. Links are unique across every admin's
/// campaigns: they are public addresses.
pub async fn slug_taken(db: &Db, slug: &str, except: Option<&str>) -> Result<bool, sqlx::Error> {
    let owner: Option<String> = sqlx::query_scalar("SELECT id FROM campaigns WHERE slug = $1")
        .bind(slug.trim())
        .fetch_optional(db)
        .await?;
    Ok(owner.is_some_and(|owner| Some(owner.as_str()) != except))
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    facebook_page_id: String,
    title: String,
    slug: String,
    description: String,
    prize: String,
    image_url: Option<String>,
    starts_at: i64,
    ends_at: i64,
    time_zone: String,
    rules: String,
    #[sqlx(try_from = "Flag")]
    require_login: bool,
    #[sqlx(try_from = "Flag")]
    confirmation_enabled: bool,
    confirmation_text: String,
    automation_keyword: Option<String>,
    notice_text: String,
    notice_path: super::NoticePath,
    #[sqlx(try_from = "Flag")]
    tag_fallback: bool,
    publish_state: PublishState,
    winners_count: i64,
    alternates_count: i64,
    claim_hours: i64,
    draw_mode: String,
    prizes_by_rank: String,
    min_age: Option<i64>,
    countries: String,
    #[sqlx(try_from = "Flag")]
    consent_checkbox: bool,
    entries: i64,
    end_notice: Option<NoticeStatus>,
    page_name: String,
    entered: i64,
}

/// The campaign's own columns (alias `c`) that both reads take; `save` names them once more to
/// write them. The other modules that join campaigns read a column or two in their own queries.
macro_rules! campaign_columns {
    () => {
        "c.id, c.slug, c.title, c.description, c.prize, c.image_url, c.starts_at, c.ends_at,
         c.time_zone, c.rules, c.require_login, c.confirmation_enabled, c.confirmation_text,
         c.automation_keyword, c.notice_text, c.notice_path, c.tag_fallback, c.publish_state,
         c.winners_count, c.alternates_count, c.claim_hours, c.draw_mode, c.prizes_by_rank,
         c.min_age, c.countries, c.consent_checkbox"
    };
}

/// The campaigns of the Pages the admin `$1` manages, as the editor shows them; the other
/// tables' parts come from their owners.
fn select() -> String {
    format!(
        "SELECT {}, {}, {}, {} AS entries, {} AS entered, {} AS end_notice FROM campaigns c {}",
        campaign_columns!(),
        crate::pages::store::PAGE_FACEBOOK_ID,
        crate::pages::store::PAGE_NAME,
        crate::entries::store::entry_count_of("c.id"),
        crate::entries::store::entered_count_of("c.id"),
        crate::notices::schedule::end_notice_status_of("c.id"),
        crate::pages::store::managed_page_join("c.page_id", "$1"),
    )
}

impl Row {
    fn into_campaign(self, now: i64) -> super::Campaign {
        let form = CampaignForm {
            page_id: self.facebook_page_id,
            title: self.title,
            slug: self.slug,
            description: self.description,
            prize: self.prize,
            image_url: self.image_url.unwrap_or_default(),
            starts_at: to_local(self.starts_at, &self.time_zone),
            ends_at: to_local(self.ends_at, &self.time_zone),
            time_zone: self.time_zone,
            rules: self.rules,
            require_login: self.require_login,
            confirmation_enabled: self.confirmation_enabled,
            confirmation_text: self.confirmation_text,
            automation_keyword: self.automation_keyword.unwrap_or_default(),
            notice_text: self.notice_text,
            notice_path: self.notice_path.as_str().to_string(),
            tag_fallback: self.tag_fallback,
            winners: self.winners_count.to_string(),
            alternates: self.alternates_count.to_string(),
            claim_hours: self.claim_hours.to_string(),
            draw_mode: self.draw_mode,
            prizes_by_rank: self.prizes_by_rank,
            min_age: self.min_age.map(|a| a.to_string()).unwrap_or_default(),
            countries: self.countries.replace(',', ", "),
            consent_checkbox: self.consent_checkbox,
        };
        super::Campaign {
            id: self.id,
            form,
            starts_at_ms: self.starts_at,
            ends_at_ms: self.ends_at,
            publish_state: self.publish_state,
            lifecycle_now: super::Lifecycle::Draft,
            entries: self.entries,
            end_notice: self.end_notice,
            locks: super::lifecycle::Locks::default(),
            page_name: self.page_name,
            entered: self.entered,
            page_picture: String::new(),
            when: String::new(),
        }
        .judged(now)
    }
}

/// The campaign as its editor shows it, if the admin may manage it.
pub async fn find_for_admin(
    db: &Db,
    admin_id: &str,
    id: &str,
) -> Result<Option<super::Campaign>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!("{} WHERE c.id = $2", select()))
        .bind(admin_id)
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|row| row.into_campaign(now_ms())))
}

pub async fn list_for_admin(db: &Db, admin_id: &str) -> Result<Vec<super::Campaign>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!("{} ORDER BY c.starts_at DESC", select()))
        .bind(admin_id)
        .fetch_all(db)
        .await?;
    let now = now_ms();
    Ok(rows.into_iter().map(|row| row.into_campaign(now)).collect())
}

/// What an admin can do to a campaign besides editing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Publish,
    Unpublish,
    Archive,
    /// Ends a live campaign now: entries close and the end notice goes.
    EndNow,
}

pub enum Changed {
    Ok,
    /// Refused, with the reason the admin sees.
    Refused(&'static str),
    Forbidden,
}

/// Publishes, unpublishes or archives. A campaign that has ended cannot go back to draft: its
/// entrants were promised a notice.
pub async fn transition(
    db: &Db,
    admin_id: &str,
    id: &str,
    to: Transition,
) -> Result<Changed, sqlx::Error> {
    let Some(campaign) = find_for_admin(db, admin_id, id).await? else {
        return Ok(Changed::Forbidden);
    };
    let now = now_ms();
    let mut ends_at = campaign.ends_at_ms;
    let state = match (to, campaign.lifecycle(now)) {
        (_, super::Lifecycle::Archived) => {
            return Ok(Changed::Refused("This campaign is archived."))
        }
        // Entrants accept the rules by entering (Meta's promotion policy makes the organiser
        // responsible for them): a campaign without rules cannot go public.
        (Transition::Publish, _) if campaign.form.rules.trim().is_empty() => {
            return Ok(Changed::Refused(
                "Write the official rules (the Rules and terms field) before publishing: entrants accept them by entering.",
            ))
        }
        (Transition::Publish, _) => PublishState::Published,
        (Transition::Unpublish, super::Lifecycle::Live | super::Lifecycle::Ended) => {
            return Ok(Changed::Refused(
                "A campaign that has started cannot go back to draft; archive it instead.",
            ))
        }
        (Transition::Unpublish, _) => PublishState::Draft,
        (Transition::Archive, _) => PublishState::Archived,
        (Transition::EndNow, super::Lifecycle::Live) => {
            ends_at = now;
            PublishState::Published
        }
        (Transition::EndNow, _) => {
            return Ok(Changed::Refused("Only a live campaign can be ended now."))
        }
    };
    // The end notice follows in the same transaction: scheduled, moved or cancelled.
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE campaigns SET publish_state = $1, ends_at = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(state.as_str())
    .bind(ends_at)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    crate::notices::schedule::sync_end_notice(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Changed::Ok)
}

/// Deletes a draft nobody entered (`lifecycle::check_delete`). Anything ever published, or
/// entered, keeps its history: archive it instead. Entries would go with the campaign (the
/// schema cascades), so the statement itself checks again that there are none.
pub async fn delete_draft(db: &Db, admin_id: &str, id: &str) -> Result<Changed, sqlx::Error> {
    let Some(campaign) = find_for_admin(db, admin_id, id).await? else {
        return Ok(Changed::Forbidden);
    };
    if let Err(why) = super::lifecycle::check_delete(&campaign) {
        return Ok(Changed::Refused(why));
    }
    let deleted = sqlx::query(&format!(
        "DELETE FROM campaigns WHERE id = $1 AND publish_state = 'draft'
           AND NOT EXISTS ({})",
        crate::entries::store::entries_of("$1")
    ))
    .bind(id)
    .execute(db)
    .await?;
    if deleted.rows_affected() == 0 {
        return Ok(Changed::Refused(
            "This campaign was published or entered meanwhile, so it was kept: archive it instead.",
        ));
    }
    Ok(Changed::Ok)
}

/// Copies a campaign into a new draft with a free slug (`-copy`, `-copy-2`, ...).
pub async fn duplicate(db: &Db, admin_id: &str, id: &str) -> Result<Option<String>, sqlx::Error> {
    let Some(campaign) = find_for_admin(db, admin_id, id).await? else {
        return Ok(None);
    };
    let mut form = campaign.form;
    let base: String = form.slug.chars().take(super::rules::SLUG_MAX - 8).collect();
    for n in 1..100 {
        form.slug = if n == 1 {
            format!("{base}-copy")
        } else {
            format!("{base}-copy-{n}")
        };
        if let Saved::Ok(new_id) = save(db, admin_id, None, &form).await? {
            return Ok(Some(new_id));
        }
    }
    Ok(None)
}

/// The title of a live or scheduled campaign of this Page, if any: such a Page must stay on.
pub async fn active_on_page(db: &Db, page_id: &PageRowId) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT title FROM campaigns WHERE page_id = $1 AND publish_state = 'published' AND ends_at > $2
         ORDER BY starts_at LIMIT 1",
    )
    .bind(page_id)
    .bind(now_ms())
    .fetch_optional(db)
    .await
}

/// The campaigns of a Page taking entries at `now`, as (id, title).
pub async fn live_on_page(
    db: &Db,
    page_id: &PageRowId,
    now: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, title FROM campaigns WHERE page_id = $1 AND publish_state = 'published'
           AND starts_at <= $2 AND ends_at > $2 ORDER BY starts_at",
    )
    .bind(page_id)
    .bind(now)
    .fetch_all(db)
    .await
}

/// A campaign as the public sees it: published (or archived, which reads as ended), with its
/// Page. Drafts are nobody's business but their admins'.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Published {
    pub id: String,
    /// The Page's row id, and its Facebook id and names for links and text.
    pub page_row_id: PageRowId,
    pub facebook_page_id: FacebookPageId,
    pub page_name: String,
    pub page_username: Option<String>,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub prize: String,
    pub image_url: Option<String>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub time_zone: String,
    pub rules: String,
    #[sqlx(try_from = "Flag")]
    pub require_login: bool,
    #[sqlx(try_from = "Flag")]
    pub confirmation_enabled: bool,
    pub confirmation_text: String,
    pub automation_keyword: Option<String>,
    pub publish_state: PublishState,
    /// The draw commitment made at publish (`winners`), shown on the public pages.
    pub draw_commitment: Option<String>,
    /// One prize per line by rank (`rules::CampaignForm::prizes_by_rank`).
    pub prizes_by_rank: String,
    /// Eligibility: the minimum age, the countries of residence (codes, comma-separated).
    pub min_age: Option<i64>,
    pub countries: String,
    /// The entrant ticks "I accept" before entering.
    #[sqlx(try_from = "Flag")]
    pub consent_checkbox: bool,
}

impl Published {
    pub fn lifecycle(&self, now: i64) -> super::Lifecycle {
        super::Lifecycle::of(self.publish_state, self.starts_at, self.ends_at, now)
    }

    /// A time as the campaign's people read it, in the campaign's time zone ("December 24,
    /// 2026 at 18:00 CET"): on its pages and in its messages.
    pub fn local_time(&self, ms: i64) -> String {
        time_in(&self.time_zone, ms, "%B %-d, %Y at %H:%M %Z")
    }
}

/// An admin's account is erased: their campaigns and uploads stay (they belong to the Page) but
/// name no creator.
pub async fn forget_creator(db: &Db, admin_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE campaigns SET created_by = NULL WHERE created_by = $1")
        .bind(admin_id)
        .execute(db)
        .await?;
    Ok(())
}

/// A time in a campaign's time zone (UTC if the zone is unknown), `format` as `strftime`'s.
pub fn time_in(time_zone: &str, ms: i64, format: &str) -> String {
    let tz = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(tz).strftime(format).to_string())
        .unwrap_or_default()
}

/// Published and archived campaigns, with their Page as the public pages show it.
fn published() -> String {
    format!(
        "SELECT {}, {},
        (SELECT ds.commitment FROM draw_seeds ds WHERE ds.campaign_id = c.id) AS draw_commitment
        FROM campaigns c {}
        WHERE c.publish_state IN ('published', 'archived')",
        campaign_columns!(),
        crate::pages::store::PAGE_PUBLIC_COLUMNS,
        crate::pages::store::page_join("c.page_id"),
    )
}

pub async fn find_published(db: &Db, slug: &str) -> Result<Option<Published>, sqlx::Error> {
    sqlx::query_as(&format!("{} AND c.slug = $1", published()))
        .bind(slug)
        .fetch_optional(db)
        .await
}

pub async fn find_published_by_id(db: &Db, id: &str) -> Result<Option<Published>, sqlx::Error> {
    sqlx::query_as(&format!("{} AND c.id = $1", published()))
        .bind(id)
        .fetch_optional(db)
        .await
}

const DUE_FOR_DRAW: &str =
    "SELECT c.id, c.winners_count, c.alternates_count, c.claim_hours FROM campaigns c
     WHERE c.publish_state IN ('published', 'archived') AND c.ends_at <= $1
       AND c.draw_mode = 'auto'
       AND EXISTS (SELECT 1 FROM draw_seeds ds WHERE ds.campaign_id = c.id)
       AND NOT EXISTS (SELECT 1 FROM draws d WHERE d.campaign_id = c.id AND d.state = 'drawn')";

/// A campaign whose automatic draw is due, with its draw settings.
#[derive(sqlx::FromRow, Clone, Debug, PartialEq, Eq)]
pub struct DueDraw {
    pub id: String,
    pub winners_count: i64,
    pub alternates_count: i64,
    pub claim_hours: i64,
}

/// Published campaigns that have ended, draw automatically, committed at publish and are not
/// drawn yet.
pub async fn due_for_draw(db: &Db, now: i64) -> Result<Vec<DueDraw>, sqlx::Error> {
    sqlx::query_as(DUE_FOR_DRAW).bind(now).fetch_all(db).await
}

/// The campaign, if its automatic draw is due.
pub async fn due_draw_of(
    db: &Db,
    campaign_id: &str,
    now: i64,
) -> Result<Option<DueDraw>, sqlx::Error> {
    sqlx::query_as(&format!("{DUE_FOR_DRAW} AND c.id = $2"))
        .bind(now)
        .bind(campaign_id)
        .fetch_optional(db)
        .await
}

/// The Page (row id) a campaign belongs to.
pub async fn page_of(db: &Db, campaign_id: &str) -> Result<Option<PageRowId>, sqlx::Error> {
    sqlx::query_scalar("SELECT page_id FROM campaigns WHERE id = $1")
        .bind(campaign_id)
        .fetch_optional(db)
        .await
}

/// What the end notice follows: whether the campaign is published, and when it ends.
#[derive(sqlx::FromRow)]
pub struct Ending {
    pub publish_state: PublishState,
    pub ends_at: i64,
}

pub async fn ending(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    campaign_id: &str,
) -> Result<Option<Ending>, sqlx::Error> {
    sqlx::query_as("SELECT publish_state, ends_at FROM campaigns WHERE id = $1")
        .bind(campaign_id)
        .fetch_optional(&mut **tx)
        .await
}

/// Takes the campaign's row lock in `tx` by writing it unchanged: on SQLite a transaction that
/// reads, then writes after another connection wrote, fails (SQLITE_BUSY_SNAPSHOT); taking the
/// write lock at once makes it wait instead.
pub async fn lock(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    campaign_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE campaigns SET updated_at = updated_at WHERE id = $1")
        .bind(campaign_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A subquery for the ids of a Page's campaigns; `page` is the caller's SQL for its row id.
pub(crate) fn campaigns_of_page(page: &str) -> String {
    format!("SELECT id FROM campaigns WHERE page_id = {page}")
}

/// A subquery for the ids of the campaigns of the Pages the admin `$1` manages.
pub(crate) fn managed_campaign_ids() -> String {
    format!(
        "SELECT c.id FROM campaigns c {}",
        crate::pages::store::managed_page_join("c.page_id", "$1")
    )
}

/// A subquery for the ids of the campaigns that offer an automation keyword; `keyword` is the
/// caller's SQL for it.
pub(crate) fn campaigns_with_keyword(keyword: &str) -> String {
    format!("SELECT id FROM campaigns WHERE automation_keyword = {keyword}")
}

/// For the notices' statements that read their campaign in the same query (the sender's queue,
/// the fan-out: one query, not one more per message): joins the campaign as `c`, `campaign`
/// being the caller's SQL for its id.
pub(crate) fn campaign_join(campaign: &str) -> String {
    format!("JOIN campaigns c ON c.id = {campaign}")
}

/// After [`campaign_join`]: the campaign's Page (row id).
pub(crate) const CAMPAIGN_PAGE: &str = "c.page_id";

/// After [`campaign_join`]: the end notice's text as the campaign says it now.
pub(crate) const CAMPAIGN_NOTICE_TEXT: &str = "c.notice_text";

/// After [`campaign_join`]: what a notice message says of its campaign and how it goes.
pub(crate) const CAMPAIGN_NOTICE_COLUMNS: &str = "c.title, c.prize, c.notice_path, c.tag_fallback";
