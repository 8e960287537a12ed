//! The demo campaign: in development with the sandbox, `/c/demo` is a live giveaway on the
//! sandbox's Sunny Bakery Page, so a newcomer can play the entrant at once. Seeded at start-up
//! when absent (`DEMO_CAMPAIGN=off` turns it off); an existing one is left as its admin left it.

use app::campaigns::{rules::CampaignForm, store, NoticePath};
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

    if store::slug_taken(&state.db, SLUG, None).await? {
        return Ok(());
    }
    // Through the same save and publish as an admin's campaign: the same rules, columns and
    // end notice (the demo's dates are to the minute, like the editor's). A start that dies
    // between the two leaves a draft demo, which its admin publishes.
    let now = now_ms();
    let day = 24 * 3600 * 1000;
    let form = CampaignForm {
        page_id: pinned.page_id.clone(),
        title: "Win a year of croissants".into(),
        slug: SLUG.into(),
        description: "The demo giveaway of the sandbox: subscribe on Messenger to enter, as your customers will.".into(),
        prize: "A croissant a day for a year".into(),
        image_url: String::new(),
        starts_at: store::to_local(now - day, "UTC"),
        ends_at: store::to_local(now + 30 * day, "UTC"),
        time_zone: "UTC".into(),
        rules: "One entry per person. This is a demo: nobody really wins.".into(),
        require_login: false,
        confirmation_enabled: true,
        confirmation_text: "Thanks {first_name}, you're in the draw for {prize}! Tap the button below to get baking tips.".into(),
        automation_keyword: "TIPS".into(),
        notice_text: "The {campaign_title} giveaway has ended. Thanks for taking part!".into(),
        notice_path: NoticePath::Automatic.as_str().into(),
        tag_fallback: true,
        winners: "1".into(),
        alternates: "0".into(),
        claim_hours: "72".into(),
        draw_mode: "auto".into(),
        prizes_by_rank: String::new(),
        min_age: String::new(),
        countries: String::new(),
        consent_checkbox: false,
    };
    let id = match store::save(&state.db, &admin.id, None, &form).await? {
        store::Saved::Ok(id) => id,
        store::Saved::Invalid(errors) => {
            return Err(format!("the demo campaign is not valid: {errors:?}").into())
        }
        store::Saved::Forbidden => {
            return Err("the demo admin does not manage the demo Page".into())
        }
    };
    // Published as an admin publishes: the draw's commitment first, then the end notice is
    // scheduled like any other campaign's.
    app::winners::store::commit(&state.db, &state.token_cipher, &id).await?;
    match store::transition(&state.db, &admin.id, &id, store::Transition::Publish).await? {
        store::Changed::Ok => {}
        store::Changed::Refused(why) => return Err(why.into()),
        store::Changed::Forbidden => {
            return Err("the demo admin does not manage the demo campaign".into())
        }
    }
    tracing::info!("demo campaign seeded at /c/{SLUG}");
    Ok(())
}
