//! The sandbox's Facebook Login and token endpoints through raw HTTP: the dialog (grant,
//! decline, cancel, rerequest, bad requests), the code exchange and its errors, long-lived and
//! app tokens, `/debug_token`, `/me`, `/me/permissions`, `/me/accounts` paging, the test-user
//! API, expiry and revocation (190 and subcodes), and `appsecret_proof`.

use crate::sandbox_common;

use hmac::{Hmac, Mac};
use sandbox_common::{assert_error, Sbx, APP_ID, APP_SECRET, RIVER, SUNNY};
use serde_json::{json, Value};
use std::collections::HashMap;

pub(crate) const REDIRECT: &str = "http://127.0.0.1:9/auth/facebook/callback";
pub(crate) const SCOPES: &str = "pages_show_list,pages_manage_metadata,pages_messaging";

pub(crate) fn dialog_url(sbx: &Sbx, scope: &str, extra: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&sbx.server.url("/sandbox/www/v25.0/dialog/oauth")).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", APP_ID)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("state", "st-123")
        .append_pair("scope", scope)
        .append_pair("response_type", "code");
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.to_string()
}

pub(crate) async fn html(sbx: &Sbx, url: &str) -> (u16, String) {
    let r = sbx.http.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Submits the consent form as `user`, ticking `grant`; answers the redirect's query and fragment.
pub(crate) async fn consent(
    sbx: &Sbx,
    user: &str,
    scope: &str,
    auth_type: Option<&str>,
    action: &str,
    grant: &[&str],
) -> url::Url {
    let mut form: Vec<(&str, &str)> = vec![
        ("client_id", APP_ID),
        ("redirect_uri", REDIRECT),
        ("state", "st-123"),
        ("scope", scope),
        ("response_type", "code"),
        ("as", user),
        ("action", action),
    ];
    if let Some(a) = auth_type {
        form.push(("auth_type", a));
    }
    for g in grant {
        form.push(("grant", g));
    }
    let r = sbx
        .http
        .post(sbx.server.url("/sandbox/www/v25.0/dialog/oauth/confirm"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302, "{}", r.text().await.unwrap());
    url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap()
}

pub(crate) fn query(url: &url::Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

pub(crate) async fn exchange(sbx: &Sbx, code: &str) -> (u16, Value) {
    let r = sbx
        .http
        .get(sbx.graph("/oauth/access_token"))
        .query(&[
            ("client_id", APP_ID),
            ("redirect_uri", REDIRECT),
            ("client_secret", APP_SECRET),
            ("code", code),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

pub(crate) async fn get_with(sbx: &Sbx, path: &str, token: &str) -> (u16, Value) {
    let r = sbx
        .http
        .get(sbx.graph(path))
        .query(&[("access_token", token)])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// The whole dialog as `user`, granting everything asked: a short-lived user token.
pub(crate) async fn login(sbx: &Sbx, user: &str, scope: &str) -> String {
    let grant: Vec<&str> = scope.split(',').collect();
    let redirect = consent(sbx, user, scope, None, "continue", &grant).await;
    let (s, token) = exchange(sbx, &query(&redirect)["code"]).await;
    assert_eq!(s, 200, "{token}");
    token["access_token"].as_str().unwrap().to_string()
}

pub(crate) async fn app_token(sbx: &Sbx) -> String {
    let r = sbx
        .http
        .get(sbx.graph("/oauth/access_token"))
        .query(&[
            ("client_id", APP_ID),
            ("client_secret", APP_SECRET),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "bearer");
    v["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_dialog_lists_test_users_then_asks_each_permission_and_redirects_with_a_code() {
    let sbx = Sbx::start().await;
    let (status, picker) = html(&sbx, &dialog_url(&sbx, SCOPES, &[])).await;
    assert_eq!(status, 200);
    assert!(
        picker.contains(r#"data-testid="user-choice""#)
            && picker.contains("Ada Admin")
            && picker.contains("Alice Entrant")
    );

    let (status, screen) = html(&sbx, &dialog_url(&sbx, SCOPES, &[("as", "admin")])).await;
    assert_eq!(status, 200);
    for perm in SCOPES.split(',') {
        assert!(
            screen.contains(&format!(r#"data-permission="{perm}""#)),
            "{perm} has a checkbox"
        );
    }
    assert!(
        screen.contains(r#"data-testid="continue""#) && screen.contains(r#"data-testid="cancel""#)
    );

    let redirect = consent(
        &sbx,
        "admin",
        SCOPES,
        None,
        "continue",
        &SCOPES.split(',').collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(
        format!(
            "{}://{}{}",
            redirect.scheme(),
            redirect.authority(),
            redirect.path()
        ),
        REDIRECT
    );
    assert_eq!(redirect.fragment(), Some("_=_"));
    let q = query(&redirect);
    assert_eq!(q["state"], "st-123");
    let code = q["code"].clone();

    let (s, token) = exchange(&sbx, &code).await;
    assert_eq!(s, 200, "{token}");
    assert_eq!(token["token_type"], "bearer");
    assert!(token["expires_in"].as_i64().unwrap() > 0);
    let access = token["access_token"].as_str().unwrap();
    assert!(access.starts_with("EAAB"));

    // A code works once.
    let (s, b) = exchange(&sbx, &code).await;
    assert_error(s, &b, 100, Some(36009));

    let (_, me) = get_with(&sbx, "/me?fields=id,name", access).await;
    assert_eq!(me["name"], "Ada Admin");
    let (_, world) = sbx.get(&sbx.control("/world")).await;
    assert_eq!(me["id"], world["users"][0]["id"]);
    let (_, perms) = get_with(&sbx, "/me/permissions", access).await;
    let granted: Vec<&str> = perms["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "granted")
        .map(|p| p["permission"].as_str().unwrap())
        .collect();
    for perm in SCOPES.split(',').chain(["public_profile"]) {
        assert!(granted.contains(&perm), "{perm} in {perms}");
    }
    // `email` is left out without the permission.
    let (_, me) = get_with(&sbx, "/me?fields=id,name,email", access).await;
    assert!(me.get("email").is_none(), "{me}");
}

#[tokio::test]
async fn declined_permissions_stay_declined_until_rerequested() {
    let sbx = Sbx::start().await;
    let redirect = consent(
        &sbx,
        "editor",
        SCOPES,
        None,
        "continue",
        &["pages_show_list", "pages_manage_metadata"],
    )
    .await;
    let (_, token) = exchange(&sbx, &query(&redirect)["code"]).await;
    let access = token["access_token"].as_str().unwrap().to_string();
    let (_, perms) = get_with(&sbx, "/me/permissions", &access).await;
    assert!(
        perms["data"]
            .as_array()
            .unwrap()
            .contains(&json!({ "permission": "pages_messaging", "status": "declined" })),
        "{perms}"
    );

    // Asked again without rerequest: not asked (no checkbox), stays declined.
    let (_, screen) = html(&sbx, &dialog_url(&sbx, SCOPES, &[("as", "editor")])).await;
    assert!(!screen.contains(r#"data-permission="pages_messaging""#));
    assert!(screen.contains("declined earlier"));
    consent(
        &sbx,
        "editor",
        SCOPES,
        None,
        "continue",
        &["pages_messaging"],
    )
    .await;
    let (_, perms) = get_with(&sbx, "/me/permissions", &access).await;
    assert!(perms["data"]
        .as_array()
        .unwrap()
        .contains(&json!({ "permission": "pages_messaging", "status": "declined" })));

    // With auth_type=rerequest the checkbox is back, and granting it sticks.
    let (_, screen) = html(
        &sbx,
        &dialog_url(
            &sbx,
            SCOPES,
            &[("as", "editor"), ("auth_type", "rerequest")],
        ),
    )
    .await;
    assert!(screen.contains(r#"data-permission="pages_messaging""#));
    let redirect = consent(
        &sbx,
        "editor",
        SCOPES,
        Some("rerequest"),
        "continue",
        &["pages_messaging"],
    )
    .await;
    assert!(query(&redirect).contains_key("code"));
    let (_, perms) = get_with(&sbx, "/me/permissions", &access).await;
    assert!(perms["data"]
        .as_array()
        .unwrap()
        .contains(&json!({ "permission": "pages_messaging", "status": "granted" })));
}

#[tokio::test]
async fn cancel_and_bad_dialog_requests() {
    let sbx = Sbx::start().await;
    let redirect = consent(&sbx, "admin", SCOPES, None, "cancel", &[]).await;
    assert_eq!(
        redirect.query(),
        Some("error_reason=user_denied&error=access_denied&error_description=Permissions+error&state=st-123")
    );

    let bad_app = dialog_url(&sbx, SCOPES, &[]).replace(APP_ID, "999");
    let (status, page) = html(&sbx, &bad_app).await;
    assert_eq!(status, 400);
    assert!(page.contains("Invalid App ID"));
    let (status, page) = html(&sbx, &dialog_url(&sbx, "pages_show_list,make_coffee", &[])).await;
    assert_eq!(status, 400);
    assert!(page.contains("Invalid Scopes: make_coffee"));
    let no_redirect = dialog_url(&sbx, SCOPES, &[]).replace("redirect_uri=", "redirect=");
    assert_eq!(html(&sbx, &no_redirect).await.0, 400);
}

#[tokio::test]
async fn code_exchange_errors() {
    let sbx = Sbx::start().await;
    let redirect = consent(
        &sbx,
        "admin",
        SCOPES,
        None,
        "continue",
        &["pages_show_list"],
    )
    .await;
    let code = query(&redirect)["code"].clone();
    let call = |params: Vec<(&'static str, String)>| {
        let http = sbx.http.clone();
        let url = sbx.graph("/oauth/access_token");
        async move {
            let r = http.get(url).query(&params).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let base = |code: &str| {
        vec![
            ("client_id", APP_ID.to_string()),
            ("redirect_uri", REDIRECT.to_string()),
            ("client_secret", APP_SECRET.to_string()),
            ("code", code.to_string()),
        ]
    };
    let with = |k: &'static str, v: &str| {
        let mut p = base(&code);
        p.iter_mut().find(|(key, _)| *key == k).unwrap().1 = v.to_string();
        p
    };
    let (s, b) = call(with("client_secret", "wrong")).await;
    assert_error(s, &b, 1, None);
    let (s, b) = call(with("client_id", "12345")).await;
    assert_error(s, &b, 101, None);
    let (s, b) = call(with("redirect_uri", "http://127.0.0.1:9/elsewhere")).await;
    assert_error(s, &b, 100, Some(36008));
    let (s, b) = call(with("code", "AQnot-a-code")).await;
    assert_error(s, &b, 100, Some(36007));
    let (s, b) = call(
        base(&code)
            .into_iter()
            .filter(|(k, _)| *k != "redirect_uri")
            .collect(),
    )
    .await;
    assert_error(s, &b, 100, None);

    // Codes live ten minutes.
    sbx.control_post("/clock", json!({ "advance_ms": 11 * 60 * 1000 }))
        .await;
    let (s, b) = call(base(&code)).await;
    assert_error(s, &b, 100, Some(36007));
    assert!(b["error"]["message"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn long_lived_and_app_tokens_and_debug_token() {
    let sbx = Sbx::start().await;
    let short = login(&sbx, "admin", SCOPES).await;
    let r = sbx
        .http
        .get(sbx.graph("/oauth/access_token"))
        .query(&[
            ("grant_type", "fb_exchange_token"),
            ("client_id", APP_ID),
            ("client_secret", APP_SECRET),
            ("fb_exchange_token", &short),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let long: Value = r.json().await.unwrap();
    assert_eq!(long["token_type"], "bearer");
    assert_eq!(long["expires_in"], 5183944);
    let long = long["access_token"].as_str().unwrap().to_string();

    let app = app_token(&sbx).await;
    assert!(app.starts_with(&format!("{APP_ID}|")));
    let debug = |input: String, with: String| {
        let http = sbx.http.clone();
        let url = sbx.graph("/debug_token");
        async move {
            let r = http
                .get(url)
                .query(&[("input_token", input), ("access_token", with)])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (s, d) = debug(long.clone(), app.clone()).await;
    assert_eq!(s, 200, "{d}");
    let data = &d["data"];
    assert_eq!(data["app_id"], APP_ID);
    assert_eq!(data["type"], "USER");
    assert_eq!(data["is_valid"], true);
    assert!(data["application"].is_string());
    for key in ["expires_at", "data_access_expires_at", "issued_at"] {
        assert!(data[key].as_i64().unwrap() > 0, "{key}: {d}");
    }
    let lifetime = data["expires_at"].as_i64().unwrap() - data["issued_at"].as_i64().unwrap();
    assert!((5183900..=5184000).contains(&lifetime), "{lifetime}");
    assert!(data["scopes"]
        .as_array()
        .unwrap()
        .contains(&json!("pages_messaging")));
    let (_, me) = get_with(&sbx, "/me", &long).await;
    assert_eq!(data["user_id"], me["id"]);

    // A Page token read with a long-lived user token does not expire.
    let (_, accounts) = get_with(&sbx, "/me/accounts", &long).await;
    let page_token = accounts["data"][0]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, d) = debug(page_token.clone(), app.clone()).await;
    assert_eq!(d["data"]["type"], "PAGE");
    assert_eq!(d["data"]["expires_at"], 0);
    assert_eq!(d["data"]["profile_id"], SUNNY);

    // The app token itself (also the `app_id|app_secret` form).
    let (_, d) = debug(app.clone(), format!("{APP_ID}|{APP_SECRET}")).await;
    assert_eq!(d["data"]["type"], "APP");
    assert_eq!(d["data"]["is_valid"], true);

    // Unknown input, and a caller that is not the app.
    let (s, d) = debug("EAABnonsense".into(), app.clone()).await;
    assert_eq!(s, 200);
    assert_eq!(d["data"]["is_valid"], false);
    assert_eq!(d["data"]["error"]["code"], 190);
    let (s, b) = debug(long.clone(), long.clone()).await;
    assert_error(s, &b, 100, None);

    // Expired input: is_valid false with 190 / 463.
    sbx.control_post("/tokens/expire", json!({ "access_token": short }))
        .await;
    let (_, d) = debug(short.clone(), app).await;
    assert_eq!(d["data"]["is_valid"], false);
    assert_eq!(d["data"]["error"]["subcode"], 463);

    // App tokens need the right secret.
    let r = sbx
        .http
        .get(sbx.graph("/oauth/access_token"))
        .query(&[
            ("client_id", APP_ID),
            ("client_secret", "nope"),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    assert_error(s, &r.json().await.unwrap(), 1, None);
}

#[tokio::test]
async fn me_accounts_has_tasks_page_tokens_and_cursor_paging() {
    let sbx = Sbx::start().await;
    let token = login(&sbx, "admin", SCOPES).await;
    let (_, all) = get_with(&sbx, "/me/accounts", &token).await;
    let data = all["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert!(
        all["paging"].get("next").is_none(),
        "no next when everything fits: {all}"
    );
    let first = &data[0];
    assert_eq!(first["id"], SUNNY);
    assert_eq!(first["name"], "Sunny Bakery");
    assert_eq!(first["category"], "Bakery");
    assert_eq!(first["category_list"][0]["name"], "Bakery");
    assert_eq!(
        first["tasks"],
        json!([
            "MANAGE",
            "CREATE_CONTENT",
            "MODERATE",
            "MESSAGING",
            "ADVERTISE",
            "ANALYZE"
        ])
    );
    assert!(first["access_token"].as_str().unwrap().starts_with("EAAB"));

    let (_, page1) = get_with(&sbx, "/me/accounts?limit=1", &token).await;
    assert_eq!(page1["data"].as_array().unwrap().len(), 1);
    assert!(
        page1["paging"]["cursors"]["before"].is_string()
            && page1["paging"]["cursors"]["after"].is_string()
    );
    let next = page1["paging"]["next"]
        .as_str()
        .expect("a next link when there is more");
    let r = sbx.http.get(next).send().await.unwrap();
    let page2: Value = r.json().await.unwrap();
    assert_eq!(page2["data"][0]["id"], RIVER);
    assert!(page2["paging"].get("next").is_none(), "{page2}");
    let previous = page2["paging"]["previous"].as_str().unwrap();
    let back: Value = sbx
        .http
        .get(previous)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(back["data"][0]["id"], SUNNY);
    let after = page1["paging"]["cursors"]["after"].as_str().unwrap();
    let (_, same) = get_with(&sbx, &format!("/me/accounts?limit=1&after={after}"), &token).await;
    assert_eq!(same["data"][0]["id"], RIVER);

    // Roles as tasks: the editor lacks MANAGE, the moderator has MODERATE, ADVERTISE, ANALYZE.
    let editor = login(&sbx, "editor", SCOPES).await;
    let (_, e) = get_with(&sbx, "/me/accounts", &editor).await;
    assert_eq!(
        e["data"][0]["tasks"],
        json!([
            "CREATE_CONTENT",
            "MODERATE",
            "MESSAGING",
            "ADVERTISE",
            "ANALYZE"
        ])
    );
    let moderator = login(&sbx, "moderator", SCOPES).await;
    let (_, m) = get_with(&sbx, "/me/accounts", &moderator).await;
    assert_eq!(
        m["data"][0]["tasks"],
        json!(["MODERATE", "ADVERTISE", "ANALYZE"])
    );
    let nobody = login(&sbx, "nopages", SCOPES).await;
    let (_, n) = get_with(&sbx, "/me/accounts", &nobody).await;
    assert_eq!(n, json!({ "data": [] }));
    // Without pages_show_list the list is empty.
    let entrant = login(&sbx, "alice", "public_profile").await;
    let (_, n) = get_with(&sbx, "/me/accounts", &entrant).await;
    assert_eq!(n, json!({ "data": [] }));

    // A Page token read with a short-lived user token expires with it.
    let page_token = first["access_token"].as_str().unwrap().to_string();
    let (s, _) = get_with(&sbx, "/me", &page_token).await;
    assert_eq!(s, 200);
    sbx.control_post("/clock", json!({ "advance_ms": 5401 * 1000 }))
        .await;
    let (s, b) = get_with(&sbx, "/me", &page_token).await;
    assert_error(s, &b, 190, Some(463));
    let (s, b) = get_with(&sbx, "/me/accounts", &token).await;
    assert_error(s, &b, 190, Some(463));
}

#[tokio::test]
async fn the_test_user_api() {
    let sbx = Sbx::start().await;
    let app = app_token(&sbx).await;
    let (s, list) = get_with(&sbx, &format!("/{APP_ID}/accounts/test-users"), &app).await;
    assert_eq!(s, 200, "{list}");
    let users = list["data"].as_array().unwrap();
    assert!(users.len() >= 8);
    for u in users {
        assert!(
            u["id"].is_string() && u["access_token"].is_string() && u["login_url"].is_string(),
            "{u}"
        );
    }
    let (_, limited) = get_with(
        &sbx,
        &format!("/{APP_ID}/accounts/test-users?limit=3"),
        &app,
    )
    .await;
    assert_eq!(limited["data"].as_array().unwrap().len(), 3);
    assert!(limited["paging"]["next"].is_string());

    let r = sbx
        .http
        .post(sbx.graph(&format!("/{APP_ID}/accounts/test-users")))
        .query(&[
            ("access_token", app.as_str()),
            ("installed", "true"),
            ("permissions", "public_profile,email"),
            ("name", "Tess Tester"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let created: Value = r.json().await.unwrap();
    for key in ["id", "access_token", "login_url", "email", "password"] {
        assert!(created[key].is_string(), "{key}: {created}");
    }
    let token = created["access_token"].as_str().unwrap();
    let (_, me) = get_with(&sbx, "/me?fields=id,name,email", token).await;
    assert_eq!(me["name"], "Tess Tester");
    assert_eq!(me["id"], created["id"]);
    assert!(me["email"].is_string());
    let login = sbx
        .http
        .get(created["login_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    assert!(login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .starts_with("sandbox_as="));

    // Only the app token may use it.
    let (s, b) = get_with(&sbx, &format!("/{APP_ID}/accounts/test-users"), token).await;
    assert_error(s, &b, 100, None);
}

#[tokio::test]
async fn expired_revoked_and_invalid_tokens_fail_with_190() {
    let sbx = Sbx::start().await;
    let (s, b) = sbx.get(&sbx.graph("/me")).await;
    assert_error(s, &b, 104, None);
    let (s, b) = get_with(&sbx, "/me", "EAABgarbage").await;
    assert_error(s, &b, 190, None);

    let a = login(&sbx, "admin", SCOPES).await;
    sbx.control_post("/tokens/expire", json!({ "access_token": a }))
        .await;
    let (s, b) = get_with(&sbx, "/me", &a).await;
    assert_error(s, &b, 190, Some(463));
    assert!(b["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Session has expired"));

    let b_token = login(&sbx, "admin", SCOPES).await;
    let (_, accounts) = get_with(&sbx, "/me/accounts", &b_token).await;
    let page_token = accounts["data"][0]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    sbx.control_post("/tokens/revoke", json!({ "access_token": b_token }))
        .await;
    let (s, b) = get_with(&sbx, "/me", &b_token).await;
    assert_error(s, &b, 190, Some(460));
    let (s, b) = get_with(&sbx, "/me", &page_token).await;
    assert_error(s, &b, 190, Some(460));

    let c = login(&sbx, "editor", SCOPES).await;
    sbx.control_post(
        "/tokens/revoke",
        json!({ "user": "editor", "subcode": 467 }),
    )
    .await;
    let (s, b) = get_with(&sbx, "/me", &c).await;
    assert_error(s, &b, 190, Some(467));
    let (s, _) = sbx
        .post(
            &sbx.control("/tokens/revoke"),
            json!({ "user": "editor", "subcode": 123 }),
        )
        .await;
    assert_eq!(s, 400);

    // The person removes the app.
    let d = login(&sbx, "moderator", SCOPES).await;
    let r = sbx
        .http
        .delete(sbx.graph("/me/permissions"))
        .query(&[("access_token", &d)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (s, b) = get_with(&sbx, "/me", &d).await;
    assert_error(s, &b, 190, Some(458));
    // Meta's WWW-Authenticate header comes with 190.
    let r = sbx
        .http
        .get(sbx.graph("/me"))
        .query(&[("access_token", &d)])
        .send()
        .await
        .unwrap();
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
}

#[tokio::test]
async fn appsecret_proof_is_verified_when_present_and_required_when_switched_on() {
    let sbx = Sbx::start().await;
    let token = login(&sbx, "admin", SCOPES).await;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(token.as_bytes());
    let proof = hex::encode(mac.finalize().into_bytes());
    let call = |proof: Option<&str>| {
        let mut q = vec![("access_token", token.clone())];
        if let Some(p) = proof {
            q.push(("appsecret_proof", p.to_string()));
        }
        let req = sbx.http.get(sbx.graph("/me")).query(&q);
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(call(Some(&proof)).await.0, 200);
    let (s, b) = call(Some(&"0".repeat(64))).await;
    assert_error(s, &b, 100, None);
    assert_eq!(call(None).await.0, 200);
    sbx.patch("/settings", json!({ "require_appsecret_proof": true }))
        .await;
    let (s, b) = call(None).await;
    assert_error(s, &b, 100, None);
    assert_eq!(call(Some(&proof)).await.0, 200);
}

#[tokio::test]
async fn pkce_codes_are_redeemed_only_with_the_verifier() {
    let sbx = Sbx::start().await;
    // RFC 7636 appendix B's example pair.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let redeem = |code: String, verifier: Option<&'static str>| {
        let sbx = &sbx;
        async move {
            let mut query = vec![
                ("client_id", APP_ID.to_string()),
                ("redirect_uri", REDIRECT.to_string()),
                ("client_secret", APP_SECRET.to_string()),
                ("code", code),
            ];
            if let Some(v) = verifier {
                query.push(("code_verifier", v.to_string()));
            }
            let r = sbx
                .http
                .post(sbx.graph("/oauth/access_token"))
                .form(&query)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let code_with_challenge = || async {
        let mut form: Vec<(&str, &str)> = vec![
            ("client_id", APP_ID),
            ("redirect_uri", REDIRECT),
            ("state", "st-123"),
            ("scope", SCOPES),
            ("response_type", "code"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("as", "admin"),
            ("action", "continue"),
        ];
        for g in SCOPES.split(',') {
            form.push(("grant", g));
        }
        let r = sbx
            .http
            .post(sbx.server.url("/sandbox/www/v25.0/dialog/oauth/confirm"))
            .form(&form)
            .send()
            .await
            .unwrap();
        let back = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        query(&back)["code"].clone()
    };

    // The dialog page carries the challenge through its consent form.
    let (_, page) = html(
        &sbx,
        &dialog_url(
            &sbx,
            SCOPES,
            &[
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
                ("as", "admin"),
            ],
        ),
    )
    .await;
    assert!(
        page.contains(challenge),
        "the consent form keeps the challenge"
    );

    let (status, body) = redeem(code_with_challenge().await, None).await;
    assert_error(status, &body, 100, None);
    let (status, body) = redeem(
        code_with_challenge().await,
        Some("wrong-verifier-wrong-verifier-wrong-verifier"),
    )
    .await;
    assert_error(status, &body, 100, None);
    let (status, body) = redeem(code_with_challenge().await, Some(verifier)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].as_str().is_some());
}
