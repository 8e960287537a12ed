//! The draw, recomputed from its results.json alone: by `server verify-draw` (the built binary)
//! and by `public/verify-draw.js` under node, against results written by the product's own
//! function (`app::draws`). Both must say "verified" for a fair draw and name the same first
//! difference for a tampered one. The beacon case draws with a round of the sandbox's stand-in.

use app::draws::{
    self, beacon::BeaconClient, DrawInputs, DrawResults, FrozenList, RedrawOutcome, Seed,
};
use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

fn tickets(n: usize) -> Vec<String> {
    (0..n).map(|_| draws::new_ticket()).collect()
}

/// A fair draw of 40 tickets, 3 prizes, 3 alternates, with one prize passed on and one
/// alternate disqualified, so every part of the format is exercised.
fn fair_results() -> DrawResults {
    let mut results = draws::run_draw(DrawInputs {
        seed: &Seed::generate(),
        list: FrozenList::freeze(tickets(40)).unwrap(),
        frozen_at_ms: Some(1_800_000_000_000),
        beacon: None,
        winners: 3,
        alternates: 3,
    })
    .unwrap();
    let (first, alternate) = (results.order[0].clone(), results.order[3].clone());
    results
        .record_redraw(&alternate, RedrawOutcome::Disqualified, "entered twice")
        .unwrap();
    results
        .record_redraw(
            &first,
            RedrawOutcome::PassedToAlternate,
            "not claimed in time",
        )
        .unwrap();
    assert_eq!(draws::verify(&results), Ok(()));
    results
}

fn write(results: &DrawResults) -> PathBuf {
    let path = std::env::temp_dir().join(format!("giveaway-draw-{}.json", app::db::new_id()));
    std::fs::write(&path, serde_json::to_vec_pretty(results).unwrap()).unwrap();
    path
}

fn verify_draw(path: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("verify-draw")
        .arg(path)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // Settings are never read: one that would stop the server changes nothing.
        .env("DATABASE_URL", "mysql://never-read/x")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The browser script's answer under node: "verified" or "differs: ...".
fn verify_in_node(path: &Path) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../public/verify-draw.js");
    let out = Command::new("node")
        .arg("-e")
        .arg(
            "const { verifyDraw } = require(process.argv[1]);\n\
             const results = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));\n\
             verifyDraw(results).then(o => console.log(o.verified ? 'verified' : 'differs: ' + o.difference),\n\
                                      e => { console.error(e); process.exit(3); });",
        )
        .arg(&script)
        .arg(path)
        .output()
        .expect("node runs (the browser tests need it too: apt-get install nodejs)");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

/// Results tampered with in one way each, as someone editing the published file might.
fn tampered(fair: &DrawResults) -> Vec<(&'static str, DrawResults)> {
    let mut cases = Vec::new();

    let mut list = fair.clone();
    list.tickets.remove(5);
    cases.push(("a ticket taken off the list", list));

    let mut rehashed = fair.clone();
    let loser = rehashed
        .tickets
        .iter()
        .position(|t| !fair.order.contains(t))
        .unwrap();
    rehashed.tickets[loser] = "0000000000".into();
    rehashed.tickets.sort();
    rehashed.list_sha256 = list_hash(&FrozenList::published(rehashed.tickets.clone()).unwrap());
    cases.push(("the list changed and hashed again", rehashed));

    let mut seed = fair.clone();
    seed.seed = Seed::generate().reveal();
    cases.push(("another seed", seed));

    let mut reseeded = fair.clone();
    let other = Seed::generate();
    reseeded.seed = other.reveal();
    reseeded.commitment = other.commitment();
    cases.push(("another seed with its own commitment", reseeded));

    let mut order = fair.clone();
    order.order.swap(1, 2);
    cases.push(("two places of the order swapped", order));

    let mut winner = fair.clone();
    winner.winners[2] = Some(fair.order[5].clone());
    cases.push(("a winner replaced", winner));

    let mut redraw = fair.clone();
    redraw.redraws[1].replaced_by = None;
    cases.push(("a redraw that passes the prize to nobody", redraw));

    let mut unsorted = fair.clone();
    unsorted.tickets.swap(0, 1);
    cases.push(("the list out of order", unsorted));

    cases
}

fn list_hash(list: &FrozenList) -> String {
    list.sha256().iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn verify_draw_says_verified_for_a_fair_draw() {
    let path = write(&fair_results());
    let out = verify_draw(&path);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert_eq!(stdout.lines().next(), Some("verified"), "{stdout}");
    assert!(stdout.contains("no beacon round"), "{stdout}");
}

#[test]
fn verify_draw_names_where_tampered_results_differ() {
    let fair = fair_results();
    let expected_start = [
        "differs: list hash: ",
        "differs: order at position ",
        "differs: commitment: ",
        "differs: order at position ",
        "differs: order at position 2: ",
        "differs: winner of prize 3: ",
        "differs: redraw 2: ",
        "differs: list: line 2: ",
    ];
    for ((case, results), start) in tampered(&fair).into_iter().zip(expected_start) {
        let path = write(&results);
        let out = verify_draw(&path);
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{case}: {stdout}{}",
            text(&out.stderr)
        );
        assert!(stdout.starts_with(start), "{case}: {stdout}");
        let difference = draws::verify(&results).unwrap_err();
        assert_eq!(stdout.trim(), format!("differs: {difference}"), "{case}");
    }
}

#[test]
fn verify_draw_refuses_what_is_not_results_with_exit_2() {
    let dir = std::env::temp_dir();
    let missing = dir.join(format!("giveaway-draw-missing-{}.json", app::db::new_id()));
    let garbage = dir.join(format!("giveaway-draw-garbage-{}.json", app::db::new_id()));
    std::fs::write(&garbage, "{\"version\": 1, \"tickets\": ").unwrap();
    let mut future = serde_json::to_value(fair_results()).unwrap();
    future["version"] = 2.into();
    let future_path = dir.join(format!("giveaway-draw-v2-{}.json", app::db::new_id()));
    std::fs::write(&future_path, future.to_string()).unwrap();

    for (path, says) in [
        (&missing, "cannot read"),
        (&garbage, "is not a draw's results.json"),
        (&future_path, "version 2"),
    ] {
        let out = verify_draw(path);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{path:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(out.stdout.is_empty(), "{path:?}");
    }
}

#[test]
fn the_browser_script_agrees_with_the_server() {
    let fair = fair_results();
    assert_eq!(verify_in_node(&write(&fair)), "verified");
    for (case, results) in tampered(&fair) {
        let rust = draws::verify(&results).unwrap_err();
        assert_eq!(
            verify_in_node(&write(&results)),
            format!("differs: {rust}"),
            "{case}"
        );
    }
    // No tickets at all, and more prizes than tickets: still a draw both verify.
    for (count, winners) in [(0, 2), (2, 5)] {
        let results = draws::run_draw(DrawInputs {
            seed: &Seed::generate(),
            list: FrozenList::freeze(tickets(count)).unwrap(),
            frozen_at_ms: None,
            beacon: None,
            winners,
            alternates: 1,
        })
        .unwrap();
        assert_eq!(
            verify_in_node(&write(&results)),
            "verified",
            "{count} tickets"
        );
    }
}

/// The first round of the stand-in beacon published after the list is frozen enters the draw;
/// the server and the script verify it, the server its BLS signature too.
#[tokio::test]
async fn a_draw_with_the_sandbox_beacon_verifies_with_its_signature() {
    use server::sandbox::{SandboxConfig, SandboxTuning, Secret};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = SandboxConfig {
        app_id: app::settings::SANDBOX_APP_ID.into(),
        app_secret: Secret::new(app::settings::SANDBOX_APP_SECRET),
        base_url: url::Url::parse(&base).unwrap(),
        webhook_url: url::Url::parse("http://127.0.0.1:9/webhooks/messenger").unwrap(),
        world_file: None,
        tuning: SandboxTuning::default(),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server::sandbox::serve(config, listener, async move {
        let _ = stopped.await;
    }));

    let client = BeaconClient::new(&url::Url::parse(&format!("{base}/sandbox/beacon")).unwrap());
    let info = client.info().await.unwrap();
    assert_eq!(info.period, 1);
    assert_eq!(info.scheme.as_deref(), Some("bls-unchained-g1-rfc9380"));
    // A round far in the future is not published yet.
    assert!(client.round(&info, u64::MAX / 2).await.unwrap().is_none());

    let frozen_at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let round = client.first_round_after(frozen_at_ms).await.unwrap();
    let due = draws::beacon::round_time_ms(info.genesis_time, info.period, round.round);
    assert!(
        due > frozen_at_ms,
        "round {} is due after freezing",
        round.round
    );
    let _ = stop.send(());

    let results = draws::run_draw(DrawInputs {
        seed: &Seed::generate(),
        list: FrozenList::freeze(tickets(25)).unwrap(),
        frozen_at_ms: Some(frozen_at_ms),
        beacon: Some(round.clone()),
        winners: 2,
        alternates: 2,
    })
    .unwrap();
    assert_eq!(draws::verify(&results), Ok(()));
    let check = draws::beacon::check_signature(&round);
    assert!(
        matches!(check, Ok(draws::beacon::SignatureCheck::Verified(_))),
        "{check:?}"
    );

    let path = write(&results);
    let out = verify_draw(&path);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert_eq!(stdout.lines().next(), Some("verified"));
    assert!(
        stdout.contains("its BLS signature (bls-unchained-g1-rfc9380) verifies"),
        "{stdout}"
    );
    assert_eq!(verify_in_node(&path), "verified");

    // Another round's signature (its randomness derived to match) is refused by the server; the
    // browser script cannot check BLS signatures, and says so.
    let mut forged = results.clone();
    let beacon = forged.beacon.as_mut().unwrap();
    let signature = server::sandbox::beacon::signature(beacon.round + 1);
    beacon.signature = signature.iter().map(|b| format!("{b:02x}")).collect();
    beacon.randomness = draws::sha256_hex(&signature);
    let out = verify_draw(&write(&forged));
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.starts_with(&format!(
            "differs: beacon signature: round {}: its signature does not verify",
            round.round
        )),
        "{stdout}"
    );

    // An earlier round (one known while entries could still come in) is refused.
    let mut earlier = results.clone();
    let beacon = earlier.beacon.as_mut().unwrap();
    beacon.round -= 1;
    let signature = server::sandbox::beacon::signature(beacon.round);
    beacon.signature = signature.iter().map(|b| format!("{b:02x}")).collect();
    beacon.randomness = draws::sha256_hex(&signature);
    let difference = draws::verify(&earlier).unwrap_err();
    assert!(
        difference.to_string().starts_with("beacon round: "),
        "{difference}"
    );
    assert_eq!(
        verify_in_node(&write(&earlier)),
        format!("differs: {difference}")
    );
}

/// A beacon whose round does not verify against its own key is refused when it is fetched,
/// before any draw could use it.
#[tokio::test]
async fn a_beacon_round_with_a_bad_signature_is_refused_when_fetched() {
    use axum::{extract::Path, routing::get, Json, Router};
    use server::sandbox::beacon;
    let hexed = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let app = Router::new()
        .route(
            "/info",
            get(move || async move {
                Json(serde_json::json!({
                    "public_key": hexed(&beacon::public_key()),
                    "period": 3,
                    "genesis_time": 1_000,
                    "schemeID": beacon::SCHEME,
                }))
            }),
        )
        .route(
            "/public/{round}",
            get(move |Path(round): Path<u64>| async move {
                // The next round's signature: a valid point, the wrong message.
                let signature = beacon::signature(round + 1);
                Json(serde_json::json!({
                    "round": round,
                    "randomness": draws::sha256_hex(&signature),
                    "signature": hexed(&signature),
                }))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = BeaconClient::new(&url::Url::parse(&base).unwrap());
    let info = client.info().await.unwrap();
    let err = client.round(&info, 7).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("beacon signature: round 7: its signature does not verify"),
        "{err}"
    );
}
