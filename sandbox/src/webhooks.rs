//! Webhook delivery, as Meta does it: JSON POSTs to the app's webhook URL in the
//! `{"object":"page","entry":[{"id","time","messaging":[...]}]}` envelope, signed with
//! `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, exact body)>` (and the legacy
//! `X-Hub-Signature: sha1=...`), several events per POST when they are queued together, retried
//! with exponential backoff (`webhook_retry_initial_ms`, doubling, at most 5 minutes apart) for
//! `webhook_retry_for_ms` (an hour by default), after which the app is unsubscribed from the
//! Pages concerned, as Meta does. With `webhook_test_payloads` every number and boolean of a body
//! is written as a string, as in the samples the app dashboard's "Test" button sends (real
//! deliveries use numbers); the signature is over those exact bytes.
//!
//! Template reviews and later status changes arrive as Page `changes`, the shape Meta uses for
//! template status on its other messaging products, only when the Page subscribed the app to
//! `message_template_status_update`:
//! `{"object":"page","entry":[{"id":"<page>","time":<ms>,"changes":[{"field":"message_template_status_update",
//! "value":{"event":"APPROVED"|"REJECTED"|"FLAGGED"|...,"message_template_id","message_template_name",
//! "message_template_language","message_template_category":"UTILITY","reason":null|"..."}}]}]}`.
//!
//! Two background tasks, started on first use: a timer queue (delivery/read receipts after their
//! delay, template reviews, retries; jobs due within 25 ms of each other run together) and a dispatcher that drains whatever is queued into one POST
//! and sends POSTs one after the other, so a burst of sends becomes a few large POSTs rather than
//! thousands of small ones. Faults (`webhook_duplicate`, `webhook_reorder`) are applied there.

use super::{Sandbox, Shared};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::{
    cmp::Reverse,
    collections::BinaryHeap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, OnceLock, Weak,
    },
    time::{Duration, Instant},
};
use tokio::sync::{mpsc, Notify};

/// Meta batches up to 1000 events per POST; smaller keeps bodies reasonable.
const MAX_EVENTS_PER_POST: usize = 500;
const MAX_RETRY_GAP_MS: u64 = 300_000;
/// Timed events due this close together are sent in one POST.
const COALESCE_MS: u64 = 25;

/// One thing to tell the app.
#[derive(Clone, Debug)]
pub enum Item {
    /// An entry of `messaging` (message, postback, referral, delivery, read).
    Messaging { page: String, event: Value },
    /// An entry of `changes` (template status).
    Change { page: String, change: Value },
}

#[derive(Debug)]
pub enum Job {
    Deliver(Item),
    ReviewTemplate { page: String, id: String },
    Read { page: String, user: String },
    Retry(Pending),
}

/// A POST that failed and waits for its next attempt (same bytes, same signature).
#[derive(Debug)]
pub struct Pending {
    body: Arc<Vec<u8>>,
    events: usize,
    attempt: u32,
    first_try: Instant,
}

enum Msg {
    Item(u64, Item),
    Retry(Pending),
}

struct Timed {
    due: Instant,
    seq: u64,
    job: Job,
}

impl PartialEq for Timed {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Timed {}
impl PartialOrd for Timed {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timed {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

pub struct Hooks {
    owner: Weak<Sandbox>,
    tx: mpsc::UnboundedSender<Msg>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<Msg>>>,
    timers: Mutex<BinaryHeap<Reverse<Timed>>>,
    seq: AtomicU64,
    /// Bumped by a reset: items queued before it are dropped.
    generation: AtomicU64,
    wake: Arc<Notify>,
    started: OnceLock<()>,
    client: reqwest::Client,
    /// Items and retries handed to the dispatcher (or taken from the timers) whose POST has not
    /// finished yet: with the timers, what `GET /control/webhooks/pending` reports, so a test can
    /// ask that nothing is on its way instead of sleeping to see that nothing came.
    unsent: AtomicU64,
}

impl Hooks {
    pub fn new(owner: Weak<Sandbox>) -> Hooks {
        let (tx, rx) = mpsc::unbounded_channel();
        Hooks {
            owner,
            tx,
            rx: Mutex::new(Some(rx)),
            timers: Mutex::new(BinaryHeap::new()),
            seq: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            wake: Arc::new(Notify::new()),
            started: OnceLock::new(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("a plain HTTP client builds"),
            unsent: AtomicU64::new(0),
        }
    }

    /// Webhooks not yet posted: `(unsent, scheduled)`, the first handed to the dispatcher or
    /// being posted, the second waiting on a timer (receipts, template reviews, retries, however
    /// far off they are due).
    pub fn pending(&self) -> (u64, usize) {
        let scheduled = self.timers.lock().unwrap_or_else(|p| p.into_inner()).len();
        (self.unsent.load(Ordering::SeqCst), scheduled)
    }

    /// Starts the two tasks on the current runtime the first time something is queued.
    fn ensure_started(&self) {
        self.started.get_or_init(|| {
            let rx = self.rx.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(rx) = rx {
                tokio::spawn(dispatcher(self.owner.clone(), rx));
            }
            tokio::spawn(timer_loop(self.owner.clone(), self.wake.clone()));
        });
    }

    /// Queues an item for the next POST.
    pub fn deliver(&self, item: Item) {
        self.ensure_started();
        self.unsent.fetch_add(1, Ordering::SeqCst);
        let _ = self
            .tx
            .send(Msg::Item(self.generation.load(Ordering::Relaxed), item));
    }

    /// Runs `job` after `delay_ms`.
    pub fn schedule(&self, delay_ms: u64, job: Job) {
        if delay_ms == 0 {
            if let Job::Deliver(item) = job {
                return self.deliver(item);
            }
        }
        self.ensure_started();
        let timed = Timed {
            due: Instant::now() + Duration::from_millis(delay_ms),
            seq: self.seq.fetch_add(1, Ordering::Relaxed),
            job,
        };
        self.timers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Reverse(timed));
        self.wake.notify_one();
    }

    /// Drops everything queued (a reset of the world).
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
        self.timers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    fn due_jobs(&self) -> (Vec<Job>, Option<Instant>) {
        let mut heap = self.timers.lock().unwrap_or_else(|p| p.into_inner());
        // Jobs due within the coalescing window run together, so receipts of a burst of sends
        // share one POST instead of trickling out one by one.
        let now = Instant::now() + Duration::from_millis(COALESCE_MS);
        let mut due = Vec::new();
        while heap.peek().is_some_and(|Reverse(t)| t.due <= now) {
            if let Some(Reverse(t)) = heap.pop() {
                due.push(t.job);
            }
        }
        // Counted until run (`timer_loop`), so a job between the timers and the dispatcher is
        // never reported as nothing pending.
        self.unsent.fetch_add(due.len() as u64, Ordering::SeqCst);
        (due, heap.peek().map(|Reverse(t)| t.due))
    }
}

async fn timer_loop(owner: Weak<Sandbox>, wake: Arc<Notify>) {
    loop {
        let next = {
            let Some(sb) = owner.upgrade() else { return };
            let (jobs, next) = sb.hooks.due_jobs();
            for job in jobs {
                run_job(&sb, job);
                sb.hooks.unsent.fetch_sub(1, Ordering::SeqCst);
            }
            next
        };
        // Wake at the next due time, when something new is scheduled, or at least every second
        // (to notice that the sandbox is gone).
        let sleep_for = next
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_secs(1))
            .min(Duration::from_secs(1));
        tokio::select! {
            _ = tokio::time::sleep(sleep_for) => {},
            _ = wake.notified() => {},
        }
    }
}

fn run_job(sb: &Shared, job: Job) {
    match job {
        Job::Deliver(item) => sb.hooks.deliver(item),
        Job::Retry(pending) => {
            sb.hooks.unsent.fetch_add(1, Ordering::SeqCst);
            let _ = sb.hooks.tx.send(Msg::Retry(pending));
        }
        Job::ReviewTemplate { page, id } => {
            let mut st = sb.lock();
            // A template deleted or decided by hand meanwhile stays as it is.
            super::templates::review(sb, &mut st, &page, &id, false);
        }
        Job::Read { page, user } => {
            let mut st = sb.lock();
            if let Some(event) = read_event(&mut st, &page, &user) {
                drop(st);
                sb.hooks.deliver(Item::Messaging { page, event });
            }
        }
    }
}

/// Marks the thread read up to the Page's last message; the `read` event if there is news and
/// the Page subscribed to `message_reads`.
pub fn read_event(st: &mut super::state::State, page: &str, user: &str) -> Option<Value> {
    let now = st.now_ms();
    let psid = st.world.psid(page, user);
    let subscribed = st.subscribed(page, "message_reads");
    let thread = st.threads.get_mut(&(page.to_string(), user.to_string()))?;
    let last = thread
        .messages
        .iter()
        .rev()
        .find(|m| m.from == super::state::From::Page)
        .map(|m| m.timestamp)?;
    if last <= thread.read_watermark_ms || thread.blocked {
        return None;
    }
    thread.read_watermark_ms = last;
    subscribed.then(|| event(&psid, page, now, "read", json!({ "watermark": last })))
}

/// A `messaging` event from the person (`sender` = PSID) to the Page.
pub fn event(psid: &str, page: &str, timestamp: i64, kind: &str, value: Value) -> Value {
    let mut e = json!({
        "sender": { "id": psid },
        "recipient": { "id": page },
        "timestamp": timestamp,
    });
    e[kind] = value;
    e
}

async fn dispatcher(owner: Weak<Sandbox>, mut rx: mpsc::UnboundedReceiver<Msg>) {
    while let Some(first) = rx.recv().await {
        let mut items = Vec::new();
        let mut retries = Vec::new();
        let mut take = |msg: Msg, items: &mut Vec<(u64, Item)>| match msg {
            Msg::Item(generation, item) => items.push((generation, item)),
            Msg::Retry(p) => retries.push(p),
        };
        take(first, &mut items);
        let Some(sb) = owner.upgrade() else { return };
        let mut taken = 1;
        let (reorder, window, as_strings) = {
            let st = sb.lock();
            let k = &st.knobs;
            (
                k.webhook_reorder,
                k.reorder_window_ms,
                k.webhook_test_payloads,
            )
        };
        if reorder && !items.is_empty() {
            // Let a few events pile up so that there is something to reorder.
            tokio::time::sleep(Duration::from_millis(window)).await;
        }
        while items.len() < MAX_EVENTS_PER_POST {
            match rx.try_recv() {
                Ok(msg) => {
                    take(msg, &mut items);
                    taken += 1;
                }
                Err(_) => break,
            }
        }
        let current = sb.hooks.generation.load(Ordering::Relaxed);
        let mut items: Vec<Item> = items
            .into_iter()
            .filter(|(g, _)| *g == current)
            .map(|(_, i)| i)
            .collect();
        let now = sb.lock().now_ms();
        let mut bodies = Vec::new();
        if reorder {
            items.reverse();
            for item in items {
                bodies.push((envelope(std::slice::from_ref(&item), now, as_strings), 1));
            }
        } else if !items.is_empty() {
            bodies.push((envelope(&items, now, as_strings), items.len()));
        }
        for (body, events) in bodies {
            post(
                &sb,
                Pending {
                    body: Arc::new(body),
                    events,
                    attempt: 0,
                    first_try: Instant::now(),
                },
            )
            .await;
        }
        for pending in retries {
            post(&sb, pending).await;
        }
        // Posted (or dropped by a reset, or rescheduled as a retry, which the timers count).
        sb.hooks.unsent.fetch_sub(taken, Ordering::SeqCst);
    }
}

/// `{"object":"page","entry":[...]}`: consecutive events of one Page share an entry. With
/// `as_strings` (the `webhook_test_payloads` setting), every number and boolean is written as a
/// string, as in Meta's test payloads; the signature is computed later over these exact bytes.
fn envelope(items: &[Item], now: i64, as_strings: bool) -> Vec<u8> {
    let mut entries: Vec<Value> = Vec::new();
    for item in items {
        let (page, key, value) = match item {
            Item::Messaging { page, event } => (page, "messaging", event),
            Item::Change { page, change } => (page, "changes", change),
        };
        match entries.last_mut() {
            Some(last) if last["id"] == page.as_str() && last.get(key).is_some() => {
                if let Some(list) = last[key].as_array_mut() {
                    list.push(value.clone());
                }
            }
            _ => {
                let mut entry = json!({ "id": page, "time": now });
                entry[key] = json!([value]);
                entries.push(entry);
            }
        }
    }
    let mut body = json!({ "object": "page", "entry": entries });
    if as_strings {
        stringify_scalars(&mut body);
    }
    serde_json::to_vec(&body).expect("JSON values serialize")
}

/// Numbers and booleans become strings, everywhere in `value` (`null` stays `null`).
fn stringify_scalars(value: &mut Value) {
    match value {
        Value::Number(n) => *value = Value::String(n.to_string()),
        Value::Bool(b) => *value = Value::String(b.to_string()),
        Value::Array(list) => list.iter_mut().for_each(stringify_scalars),
        Value::Object(map) => map.values_mut().for_each(stringify_scalars),
        Value::Null | Value::String(_) => {}
    }
}

pub fn sign_sha256(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn sign_sha1(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

async fn post(sb: &Shared, pending: Pending) {
    let (url, duplicate, retry_initial, retry_for) = {
        let st = sb.lock();
        let k = &st.knobs;
        (
            k.webhook_url.clone(),
            k.webhook_duplicate,
            k.webhook_retry_initial_ms,
            k.webhook_retry_for_ms,
        )
    };
    let secret = sb.config.app_secret.expose();
    let sig256 = format!("sha256={}", sign_sha256(secret, &pending.body));
    let sig1 = format!("sha1={}", sign_sha1(secret, &pending.body));
    let copies = if duplicate { 2 } else { 1 };
    let mut first_ok = false;
    for copy in 0..copies {
        let result = sb
            .hooks
            .client
            .post(url.as_str())
            .header("content-type", "application/json")
            .header("x-hub-signature-256", &sig256)
            .header("x-hub-signature", &sig1)
            .body(pending.body.as_ref().clone())
            .send()
            .await;
        let (ok, outcome) = match &result {
            Ok(r) if r.status().is_success() => (true, json!(r.status().as_u16())),
            Ok(r) => (false, json!(r.status().as_u16())),
            Err(e) => (false, json!(without_url(e))),
        };
        if copy == 0 {
            first_ok = ok;
        }
        let mut st = sb.lock();
        let time = st.now_ms();
        let body: Value = if pending.body.len() <= 64 * 1024 {
            serde_json::from_slice(&pending.body).unwrap_or(Value::Null)
        } else {
            Value::Null
        };
        st.log_webhook(json!({
            "time": time, "url": url, "attempt": pending.attempt + 1, "duplicate": copy > 0,
            "events": pending.events, "result": outcome, "ok": ok, "body": body,
        }));
    }
    if first_ok {
        return;
    }
    let elapsed = pending.first_try.elapsed().as_millis() as u64;
    if elapsed >= retry_for {
        // As Meta does after about an hour of failures: the app is unsubscribed from the Pages
        // in this batch, and nothing more is sent until it subscribes again.
        let pages: Vec<String> = serde_json::from_slice::<Value>(&pending.body)
            .ok()
            .and_then(|b| b["entry"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|e| e["id"].as_str().map(str::to_string))
            .collect();
        let mut st = sb.lock();
        for page in &pages {
            st.subscriptions.remove(page);
        }
        tracing::warn!(
            events = pending.events,
            pages = ?pages,
            "sandbox webhook dropped after retrying for the configured time; app unsubscribed"
        );
        return;
    }
    let gap = retry_initial
        .saturating_mul(1u64 << pending.attempt.min(20))
        .min(MAX_RETRY_GAP_MS);
    sb.hooks.schedule(
        gap,
        Job::Retry(Pending {
            attempt: pending.attempt + 1,
            ..pending
        }),
    );
}

/// A short reason for the delivery log (reqwest's own text repeats the URL).
fn without_url(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_payloads_carry_every_scalar_as_a_string() {
        let item = Item::Messaging {
            page: "101".into(),
            event: json!({ "sender": { "id": "2001" }, "timestamp": 1527459824,
                "message": { "mid": "m_1", "is_echo": false, "quick_reply": null },
                "delivery": { "mids": ["m_1"], "watermark": 7 } }),
        };
        let body: Value =
            serde_json::from_slice(&envelope(std::slice::from_ref(&item), 42, true)).unwrap();
        let entry = &body["entry"][0];
        assert_eq!(entry["time"], "42");
        let e = &entry["messaging"][0];
        assert_eq!(e["timestamp"], "1527459824");
        assert_eq!(e["message"]["is_echo"], "false");
        assert_eq!(e["message"]["quick_reply"], Value::Null);
        assert_eq!(e["delivery"]["watermark"], "7");
        assert_eq!(e["delivery"]["mids"][0], "m_1");
        let plain: Value = serde_json::from_slice(&envelope(&[item], 42, false)).unwrap();
        assert_eq!(plain["entry"][0]["messaging"][0]["timestamp"], 1527459824);
    }
}
