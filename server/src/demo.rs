//! The demo campaign: in development with the sandbox, `/c/demo` is a live giveaway on the
//! sandbox's Sunny Bakery Page, so a newcomer can play the entrant at once. Seeded at start-up
//! when absent (`DEMO_CAMPAIGN=off` turns it off); an existing one is left as its admin left it.

use app::{db::now_ms, state::AppState};
use sandbox::{PinnedSetup, Shared};

pub const SLUG: &str = "demo";
const PAGE: &str = "sunnybakery";
const ADMIN: &str = "admin";

pub async fn seed(state: &AppState, sandbox: &Shared) -> Result<(), Box<dyn std::error::Error>> {
    let pinned = sandbox
        .pin_connected_page(
            PAGE,
            ADMIN,
            // As the product leaves a Page it connected with every right.
            PinnedSetup {
                subscribed_fields: app::pages::WEBHOOK_FIELDS
                    .iter()
                    .chain([&app::pages::reach::TEMPLATE_FIELD])
                    .map(|f| f.to_string())
                    .collect(),
                get_started_payload: app::pages::GET_STARTED_PAYLOAD.into(),
            },
        )
        .ok_or("the sandbox world has no Page `sunnybakery` or user `admin`")?;
    let (page_name, asid, admin_name) = {
        let st = sandbox.lock();
        let page = st.world.page(PAGE).ok_or("no demo Page")?;
        let admin = st.world.user(ADMIN).ok_or("no demo admin")?;
        (page.name.clone(), st.world.asid(ADMIN), admin.name.clone())
    };
    let user_token = app::secrets::Secret::new(pinned.user_token.clone());
    let page_token = app::secrets::Secret::new(pinned.page_token.clone());
    let granted: Vec<String> = [
        "pages_show_list",
        "pages_manage_metadata",
        "pages_messaging",
        "business_management",
        "pages_utility_messaging",
    ]
    .map(String::from)
    .to_vec();
    let admin = app::admins::store::upsert_at_login(
        &state.db,
        &state.token_cipher,
        &asid,
        &admin_name,
        &user_token,
        None,
        &granted,
    )
    .await?;
    // The sandbox forgets its tokens at every start: the Page row gets this run's token.
    let account: app::messenger::graph::PageAccount = serde_json::from_value(serde_json::json!({
        "id": pinned.page_id,
        "name": page_name,
        "username": PAGE,
        "category": "Bakery",
        "tasks": ["MANAGE", "CREATE_CONTENT", "MODERATE", "MESSAGING", "ADVERTISE", "ANALYZE"],
        "access_token": page_token.expose(),
    }))?;
    let page_row = app::pages::store::connect(
        &state.db,
        &state.token_cipher,
        &admin.id,
        &account,
        &page_token,
    )
    .await?;
    // The pin subscribed the template reviews too: the demo reaches people after 24 hours.
    app::notices::templates::set_permission(&state.db, &page_row, true).await?;

    let exists: Option<String> = sqlx::query_scalar("SELECT id FROM campaigns WHERE slug = $1")
        .bind(SLUG)
        .fetch_optional(&state.db)
        .await?;
    if exists.is_some() {
        return Ok(());
    }
    let now = now_ms();
    let day = 24 * 3600 * 1000;
    let id = app::db::new_id();
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO campaigns (id, page_id, slug, title, description, prize, starts_at, ends_at,
                                time_zone, rules, require_login, confirmation_enabled,
                                confirmation_text, automation_keyword, notice_text, publish_state,
                                created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'UTC', $9, 0, 1, $10, $11, $12, 'published', $13,
                 $14, $14)",
    )
    .bind(&id)
    .bind(&page_row)
    .bind(SLUG)
    .bind("Win a year of croissants")
    .bind("The demo giveaway of the sandbox: subscribe on Messenger to enter, as your customers will.")
    .bind("A croissant a day for a year")
    .bind(now - day)
    .bind(now + 30 * day)
    .bind("One entry per person. This is a demo: nobody really wins.")
    .bind("Thanks {first_name}, you're in the draw for {prize}! Tap the button below to get baking tips.")
    .bind("TIPS")
    .bind("The {campaign_title} giveaway has ended. Thanks for taking part!")
    .bind(&admin.id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    // Published: its end notice is scheduled like any other campaign's.
    app::notices::schedule::sync_end_notice(&mut tx, &id).await?;
    tx.commit().await?;
    tracing::info!("demo campaign seeded at /c/{SLUG}");
    Ok(())
}
