//! Talking to the product as a browser does: the Facebook login through the sandbox's dialog,
//! server functions called with their form, the campaign form, and the Pages of the seeded world.

use super::TestServer;

/// The seeded world's Pages (`sunnybakery`, `riverbooks`), by Facebook id.
pub const BAKERY: &str = "101000000000001";
pub const BOOKS: &str = "101000000000002";

/// Follows the product's login start to the sandbox dialog and submits its consent form as
/// `user`, granting every permission but `decline`. Returns the product callback URL the dialog
/// redirects to (without Meta's `#_=_` fragment).
pub async fn through_dialog(
    http: &reqwest::Client,
    server: &TestServer,
    start: &str,
    user: &str,
    decline: &[&str],
    action: &str,
) -> String {
    let started = http.get(server.url(start)).send().await.unwrap();
    assert_eq!(started.status(), 303, "login start redirects to the dialog");
    let dialog = url::Url::parse(started.headers()["location"].to_str().unwrap()).unwrap();
    assert!(
        dialog.path().ends_with("/sandbox/www/v25.0/dialog/oauth"),
        "{dialog}"
    );
    let query: std::collections::HashMap<String, String> =
        dialog.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256", "PKCE is used");
    assert!(query["state"].len() >= 16, "CSRF state is present");

    let mut form: Vec<(String, String)> = [
        "client_id",
        "redirect_uri",
        "state",
        "scope",
        "response_type",
        "auth_type",
    ]
    .iter()
    .filter_map(|k| query.get(*k).map(|v| (k.to_string(), v.clone())))
    .collect();
    form.push(("as".into(), user.into()));
    // Meta takes scopes separated by commas or spaces.
    for scope in query["scope"].split([',', ' ']).filter(|s| !s.is_empty()) {
        if !decline.contains(&scope) {
            form.push(("grant".into(), scope.into()));
        }
    }
    form.push(("action".into(), action.into()));
    let confirmed = http
        .post(format!(
            "{}://{}/sandbox/www/v25.0/dialog/oauth/confirm",
            dialog.scheme(),
            dialog.authority()
        ))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 302);
    let mut back = url::Url::parse(confirmed.headers()["location"].to_str().unwrap()).unwrap();
    back.set_fragment(None);
    // The admin's callback, or the entrant's.
    assert!(back.path().starts_with("/auth/facebook/"), "{back}");
    back.to_string()
}

/// The value of `key` in the query of the address `url`.
pub fn query_param(url: &str, key: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no {key} in {url}"))
        .1
        .into_owned()
}

/// The status and `Location` of a response.
pub async fn location(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location)
}

pub fn session_cookie(http_jar: &reqwest::Response) -> Option<String> {
    http_jar
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| c.to_str().ok())
        .find(|c| c.starts_with("giveaway_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
}

/// Logs `user` in with every permission; the client keeps the session cookie.
pub async fn log_in(http: &reqwest::Client, server: &TestServer, user: &str) {
    let callback = through_dialog(http, server, "/auth/facebook", user, &[], "continue").await;
    assert_eq!(
        location(http.get(&callback).send().await.unwrap()).await,
        (303, "/admin".into())
    );
}

/// Calls the server function `function` with a form: the status and the answer.
pub async fn call(
    http: &reqwest::Client,
    server: &TestServer,
    function: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let response = http
        .post(server.url(&format!("/api/{function}")))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// A Page action (`enable`, `disable`, `disconnect`) on the Bakery.
pub async fn page_action(
    http: &reqwest::Client,
    server: &TestServer,
    action: &str,
) -> (u16, String) {
    call(
        http,
        server,
        "page_action",
        &[("facebook_page_id", BAKERY), ("action", action)],
    )
    .await
}

/// A campaign action (`publish`, `archive`, `duplicate`, `delete`, `end_now`...).
pub async fn campaign_action(
    http: &reqwest::Client,
    server: &TestServer,
    id: &str,
    action: &str,
) -> (u16, String) {
    call(
        http,
        server,
        "campaign_action",
        &[("id", id), ("action", action)],
    )
    .await
}

/// Connects a Page as the logged-in admin of `http`, which must succeed; what it answered (the
/// notes for the admin).
pub async fn connect(http: &reqwest::Client, server: &TestServer, page: &str) -> String {
    let (status, body) = call(http, server, "connect_page", &[("facebook_page_id", page)]).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The campaign form as the editor posts it (`form[title]=...`, serde_qs style).
pub fn campaign_fields(
    id: Option<&str>,
    form: &app::campaigns::rules::CampaignForm,
) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = id
        .map(|id| ("id".to_string(), id.to_string()))
        .into_iter()
        .collect();
    for (key, value) in serde_json::to_value(form).unwrap().as_object().unwrap() {
        let value = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        fields.push((format!("form[{key}]"), value));
    }
    fields
}

/// Saves the campaign form (a new campaign without `id`): the status and the answer.
pub async fn save(
    http: &reqwest::Client,
    server: &TestServer,
    id: Option<&str>,
    form: &app::campaigns::rules::CampaignForm,
) -> (u16, String) {
    let response = http
        .post(server.url("/api/save_campaign"))
        .form(&campaign_fields(id, form))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Saves the form as a new campaign, which must succeed; its id.
pub async fn save_campaign(
    http: &reqwest::Client,
    server: &TestServer,
    form: &app::campaigns::rules::CampaignForm,
) -> String {
    let (status, body) = save(http, server, None, form).await;
    assert_eq!(status, 200, "{body}");
    match serde_json::from_str(&body) {
        Ok(app::campaigns::SaveOutcome::Saved { id }) => id,
        _ => panic!("the campaign was not saved: {body}"),
    }
}

/// A valid campaign of the Bakery, a draft starting in December.
pub fn cake() -> app::campaigns::rules::CampaignForm {
    app::campaigns::rules::CampaignForm {
        page_id: BAKERY.into(),
        title: "Win a cake".into(),
        slug: "win-a-cake".into(),
        prize: "A birthday cake".into(),
        starts_at: "2026-12-01T09:00".into(),
        ends_at: "2026-12-24T18:00".into(),
        time_zone: "Europe/Paris".into(),
        confirmation_enabled: true,
        confirmation_text: "Thanks {first_name}, you are in!".into(),
        automation_keyword: "CAKE".into(),
        notice_text: "The {campaign_title} giveaway has ended.".into(),
        notice_path: "automatic".into(),
        tag_fallback: true,
        winners: "1".into(),
        alternates: "0".into(),
        claim_hours: "72".into(),
        // By hand: the notice tests expect the end notice to go to everyone at the end.
        draw_mode: "manual".into(),
        prizes_by_rank: String::new(),
        rules: "One entry per person. Open to residents of France aged 18 or over.".into(),
        ..Default::default()
    }
}

/// Uploads an image as the campaign editor does, claiming `claimed_type`: the status and the
/// answer.
pub async fn upload(
    http: &reqwest::Client,
    server: &TestServer,
    bytes: Vec<u8>,
    claimed_type: &str,
) -> (u16, String) {
    let response = http
        .post(server.url("/admin/uploads"))
        .header("content-type", claimed_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The files in the server's uploads folder, sorted.
pub fn uploaded_files(server: &TestServer) -> Vec<String> {
    let dir = server.state.settings.data_dir.join("uploads");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
