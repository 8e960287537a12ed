//! The fan-out benchmark (figures, not a test): `scripts/bench fanout [sqlite|postgres|both]`.
//!
//! The sandbox runs as its own process (`server sandbox --port N`) and the product as another
//! (the release `server` binary), as in production where Meta is elsewhere. A campaign with
//! 100,000 subscribers on one Page, all inside their 24-hour window, is seeded in bulk and ended;
//! the sandbox times the Page's Send API calls as they come in, and sends delivery receipts back
//! as Meta does. Printed: calls/s against the 300/s limit (target: at least 0.95 of it), the
//! busiest one-second window (must never exceed the limit), the time from the campaign's end to
//! the last message settled against 100,000 / 300 s, the product's peak memory (VmHWM), and how
//! busy the machine was. Then the same with several Pages at once (3 x 30,000), each paced on its
//! own. Run it on a quiet machine: a build running beside it shows in the figures.
//!
//! `cargo build --release -p server --bin server --example fanout &&
//!  target/release/examples/fanout <sqlite|postgres> [subscribers] [pages] [per page]`
//! PostgreSQL comes from `TEST_POSTGRES_URL` (a server database the role may create databases in).

#[path = "../tests/it/crowd.rs"]
mod crowd;

use crowd::Sandbox;
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// Meta's Send API limit per Page, the product's default pace and the sandbox's default limit.
const LIMIT: f64 = app::settings::DEFAULT_SEND_RATE_PER_PAGE as f64;
const SECRET_KEY: &str = "fanout-benchmark-secret-key-0123456789abcdef";

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "sqlite".into());
    let mut number = |default: usize| {
        args.next()
            .and_then(|a| a.parse().ok())
            .filter(|&n| n > 0)
            .unwrap_or(default)
    };
    let subscribers = number(100_000);
    let pages = number(3);
    let per_page = number(30_000);
    if backend != "sqlite" && backend != "postgres" {
        eprintln!("usage: fanout <sqlite|postgres> [subscribers] [pages] [per page]");
        std::process::exit(2);
    }
    // target/release/examples/fanout -> target/release/server
    let binary = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("server")))
        .filter(|b| b.exists())
        .unwrap_or_else(|| {
            eprintln!("the server binary is missing: cargo build --release -p server --bin server");
            std::process::exit(2);
        });

    let one = run(&binary, &backend, 1, subscribers).await;
    let several = run(&binary, &backend, pages, per_page).await;
    let ratio = one.pages[0].ratio();
    let pages_ratio = several
        .pages
        .iter()
        .map(PageFigures::ratio)
        .fold(f64::INFINITY, f64::min);
    let pages_max = several
        .pages
        .iter()
        .map(|p| p.max_in_one_second)
        .max()
        .unwrap_or(0);
    println!(
        "RESULT fanout ratio={ratio:.3} peak_rss_mb={:.0} max_per_second={} cpu_ms_per_message={:.3} \
         total_s={:.1} ideal_s={:.1} pages={pages} pages_ratio={pages_ratio:.3} \
         pages_max_per_second={pages_max} pages_cpu_ms_per_message={:.3} pages_total_s={:.1} \
         pages_ideal_s={:.1} pages_peak_rss_mb={:.0} subscribers={subscribers} per_page={per_page} \
         backend={backend} commit={}",
        one.peak_rss_mb,
        one.pages[0].max_in_one_second,
        one.cpu_ms_per_message,
        one.total_s,
        one.ideal_s,
        several.cpu_ms_per_message,
        several.total_s,
        several.ideal_s,
        several.peak_rss_mb,
        commit(),
    );
}

/// The commit the figures belong to, `+` when the tree had changes.
fn commit() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let changed = !git(&["status", "--porcelain", "--untracked-files=no"]).is_empty();
    format!(
        "{}{}",
        git(&["rev-parse", "--short", "HEAD"]),
        if changed { "+" } else { "" }
    )
}

struct PageFigures {
    calls: u64,
    accepted: u64,
    throttled: u64,
    calls_per_second: f64,
    span_s: f64,
    max_in_one_second: u64,
    /// (second since the first call, calls in it) for whole seconds under 95% of the limit.
    slow_seconds: Vec<(usize, u64)>,
    whole_seconds: usize,
}

impl PageFigures {
    fn ratio(&self) -> f64 {
        self.calls_per_second / LIMIT
    }
}

struct Figures {
    pages: Vec<PageFigures>,
    /// From ending the campaigns to every message settled in the product's database.
    total_s: f64,
    ideal_s: f64,
    peak_rss_mb: f64,
    /// The product's CPU time (user + system) over the messages sent, their receipts included.
    cpu_ms_per_message: f64,
}

/// One fan-out: `pages` Pages with `per_page` subscribers each, all ended at once; a fresh
/// database, sandbox and product each time, so the peak memory is this run's own.
async fn run(binary: &Path, backend: &str, pages: usize, per_page: usize) -> Figures {
    println!(
        "fanout ({backend}): {pages} Page(s) x {per_page} subscribers, limit {LIMIT:.0} calls/s per Page"
    );
    let work = std::env::temp_dir().join(format!("giveaway-fanout-{}", app::db::new_id()));
    std::fs::create_dir_all(&work).unwrap();
    let (sandbox_port, product_port) = (crowd::free_port(), crowd::free_port());
    let mut sandbox_process = Command::new(binary)
        .args(["sandbox", "--port", &sandbox_port.to_string()])
        .env(
            "SANDBOX_WEBHOOK_URL",
            format!("http://127.0.0.1:{product_port}/webhooks/messenger"),
        )
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(work.join("sandbox.log")).unwrap())
        .spawn()
        .expect("the sandbox starts");
    let sandbox = Sandbox::new(&format!("http://127.0.0.1:{sandbox_port}"));
    sandbox.wait_ready(Duration::from_secs(30)).await;

    let (db_url, pg_name) = database(backend, &work).await;
    let db = app::db::connect(&db_url, 4).await.expect("the database");
    let cipher = crowd::cipher(SECRET_KEY);
    let seeding = Instant::now();
    let mut crowds = Vec::new();
    for i in 0..pages {
        let page = if pages == 1 {
            "sunnybakery".to_string()
        } else {
            let username = format!("fanout{}", i + 1);
            sandbox
                .control(
                    reqwest::Method::POST,
                    "/pages",
                    serde_json::json!({ "username": username }),
                )
                .await;
            username
        };
        // The same people on every Page (PSIDs differ per Page, as on Messenger).
        crowds.push(crowd::seed(&db, &cipher, &sandbox, &page, per_page, "fan").await);
    }
    println!("  seeded in {:.1} s", seeding.elapsed().as_secs_f64());

    let log = work.join("product.log");
    let mut product = crowd::spawn_product(
        binary,
        &db_url,
        &sandbox.base,
        product_port,
        SECRET_KEY,
        &[],
        &log,
    );
    crowd::wait_product(&sandbox.http, product_port, Duration::from_secs(60), &log).await;

    let cpu_before = Cpu::read(&[product.id(), sandbox_process.id()]);
    let work_before = Work::read(product.id());
    let ended = Instant::now();
    let ended_ms = app::db::now_ms();
    for c in &crowds {
        crowd::end_now(&db, &c.campaign).await;
    }
    let expected: u64 = crowds.iter().map(|c| c.people.len() as u64).sum();
    let mut last_report = Instant::now();
    // The sandbox is asked (a separate process): polling the product's database would add to
    // the load being measured. The database is read once the sandbox has seen every call.
    loop {
        let mut accepted = 0;
        for c in &crowds {
            accepted += sandbox.sends(&c.facebook_page_id).await["accepted"]
                .as_u64()
                .unwrap_or(0);
        }
        if accepted >= expected && settled(&db).await {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(30) {
            eprintln!(
                "  ... {accepted} of {expected} sent after {:.0} s",
                ended.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
        assert!(
            product.try_wait().unwrap().is_none(),
            "the product stopped: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let total_s = ended.elapsed().as_secs_f64();
    let cpu = Cpu::read(&[product.id(), sandbox_process.id()]).since(&cpu_before);
    let asked = Work::read(product.id()).since(&work_before);
    let peak_rss_mb = peak_rss_kb(product.id()) as f64 / 1024.0;
    let sandbox_rss_mb = peak_rss_kb(sandbox_process.id()) as f64 / 1024.0;

    let mut figures = Vec::new();
    let mut first_call_s = f64::INFINITY;
    for c in &crowds {
        let s = sandbox.sends(&c.facebook_page_id).await;
        let number = |k: &str| s[k].as_u64().unwrap_or(0);
        let first_ms = s["first_ms"].as_i64().unwrap_or(ended_ms);
        first_call_s = first_call_s.min((first_ms - ended_ms) as f64 / 1000.0);
        let sent: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outgoing_messages
             WHERE page_id = $1 AND status IN ('sent', 'delivered', 'read')",
        )
        .bind(&c.page_row)
        .fetch_one(&db)
        .await
        .unwrap();
        assert_eq!(
            sent as usize,
            c.people.len(),
            "every subscriber's message is sent"
        );
        let page = PageFigures {
            calls: number("calls"),
            accepted: number("accepted"),
            throttled: number("throttled"),
            calls_per_second: s["calls_per_second"].as_f64().unwrap_or(0.0),
            span_s: s["span_s"].as_f64().unwrap_or(0.0),
            max_in_one_second: number("max_in_one_second"),
            slow_seconds: Vec::new(),
            whole_seconds: 0,
        };
        let mut page = page;
        if let Some(seconds) = s["per_second"].as_array() {
            // The last second is cut short by the end of the queue.
            let whole = &seconds[..seconds.len().saturating_sub(1)];
            page.whole_seconds = whole.len();
            page.slow_seconds = whole
                .iter()
                .enumerate()
                .map(|(i, n)| (i, n.as_u64().unwrap_or(0)))
                .filter(|(_, n)| (*n as f64) < 0.95 * LIMIT)
                .collect();
        }
        println!(
            "  Page {}: {} calls ({} accepted, {} throttled) over {:.1} s: {:.1} calls/s = {:.3} of the limit; busiest one-second window (sliding, as calls came in) {} calls",
            c.facebook_page_id,
            page.calls,
            page.accepted,
            page.throttled,
            page.span_s,
            page.calls_per_second,
            page.ratio(),
            page.max_in_one_second,
        );
        if !page.slow_seconds.is_empty() {
            let shown: Vec<String> = page
                .slow_seconds
                .iter()
                .take(12)
                .map(|(i, n)| format!("{i}s:{n}"))
                .collect();
            println!(
                "    {} of {} whole seconds under 95% of the limit: {}",
                page.slow_seconds.len(),
                page.whole_seconds,
                shown.join(" ")
            );
        }
        figures.push(page);
    }
    // Each message's delivery receipt comes back as a webhook: the CPU below covers both.
    let receipts: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outgoing_messages
         WHERE notice_id IS NOT NULL AND status IN ('delivered', 'read')",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    let messages: u64 = figures.iter().map(|p| p.accepted).sum();
    let cpu_ms_per_message = cpu.seconds[0] * 1000.0 / messages.max(1) as f64;
    println!(
        "  product CPU {:.1} s for {messages} messages sent and {receipts} delivery receipts processed: \
         {cpu_ms_per_message:.3} ms per message, its receipt included",
        cpu.seconds[0]
    );
    let per = |n: u64| n as f64 / messages.max(1) as f64;
    println!(
        "  per message, its receipt included: {:.1} read and {:.1} write calls (files and \
         sockets), {:.1} thread switches",
        per(asked.reads),
        per(asked.writes),
        per(asked.switches)
    );
    let ideal_s = per_page as f64 / LIMIT;
    println!(
        "  {total_s:.1} s from the end to the last message settled (ideal {ideal_s:.1} s, {:.3}x); first call after {first_call_s:.2} s",
        total_s / ideal_s
    );
    println!("  peak memory: product {peak_rss_mb:.0} MB, sandbox {sandbox_rss_mb:.0} MB");
    // The machine is shared with the database server (PostgreSQL) and whatever else runs: a
    // busy machine slows the fan-out down, and this says how busy it was.
    println!(
        "  CPU while sending, in cores of {}: product {:.2}, sandbox {:.2}, everything else {:.2}",
        cpu.cores, cpu.processes[0], cpu.processes[1], cpu.rest
    );

    let _ = product.kill();
    let _ = product.wait();
    stop(&mut sandbox_process);
    db.close().await;
    if let Some(name) = pg_name {
        drop_database(&name).await;
    }
    // Anything sent twice or throttled without a crash is a finding: its logs are kept.
    if figures.iter().any(|p| p.throttled > 0)
        || figures.iter().map(|p| p.accepted).sum::<u64>() > expected
    {
        println!("  repeats or throttling: logs kept in {}", work.display());
    } else {
        let _ = std::fs::remove_dir_all(&work);
    }
    Figures {
        pages: figures,
        total_s,
        ideal_s,
        peak_rss_mb,
        cpu_ms_per_message,
    }
}

/// CPU time from `/proc`: the whole machine's and some processes', in clock ticks.
/// What the product process asked of the kernel, counted by Linux: read and write system calls
/// (`/proc/<pid>/io`: the database's page reads and writes, the sockets') and thread switches
/// (`/proc/<pid>/task/*/status`: each wake-up of a waiting thread is one).
#[derive(Default)]
struct Work {
    reads: u64,
    writes: u64,
    switches: u64,
}

impl Work {
    fn read(pid: u32) -> Work {
        let field = |text: &str, name: &str| -> u64 {
            text.lines()
                .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
                .unwrap_or(0)
        };
        let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
        let mut work = Work {
            reads: field(&io, "syscr:"),
            writes: field(&io, "syscw:"),
            switches: 0,
        };
        for task in std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
        {
            let status = task
                .ok()
                .and_then(|t| std::fs::read_to_string(t.path().join("status")).ok())
                .unwrap_or_default();
            work.switches += field(&status, "voluntary_ctxt_switches:")
                + field(&status, "nonvoluntary_ctxt_switches:");
        }
        work
    }

    fn since(&self, before: &Work) -> Work {
        Work {
            reads: self.reads.saturating_sub(before.reads),
            writes: self.writes.saturating_sub(before.writes),
            switches: self.switches.saturating_sub(before.switches),
        }
    }
}

struct Cpu {
    at: Instant,
    busy: u64,
    processes: Vec<u64>,
}

/// CPU used over a span, in cores (1.0 = one core busy all along).
struct CpuUse {
    cores: usize,
    processes: Vec<f64>,
    /// CPU time of each process over the span (user + system), in seconds.
    seconds: Vec<f64>,
    rest: f64,
}

impl Cpu {
    fn read(pids: &[u32]) -> Cpu {
        // Busy = all but idle and iowait, from the first line of /proc/stat.
        let busy = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|stat| {
                let fields: Vec<u64> = stat
                    .lines()
                    .next()?
                    .split_whitespace()
                    .skip(1)
                    .filter_map(|f| f.parse().ok())
                    .collect();
                Some(fields.iter().sum::<u64>() - fields.get(3)? - fields.get(4)?)
            })
            .unwrap_or(0);
        // utime and stime: fields 14 and 15 of /proc/<pid>/stat, after the command in brackets.
        let processes = pids
            .iter()
            .map(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .ok()
                    .and_then(|stat| {
                        let after = stat.rsplit_once(')')?.1;
                        let fields: Vec<&str> = after.split_whitespace().collect();
                        Some(
                            fields.get(11)?.parse::<u64>().ok()?
                                + fields.get(12)?.parse::<u64>().ok()?,
                        )
                    })
                    .unwrap_or(0)
            })
            .collect();
        Cpu {
            at: Instant::now(),
            busy,
            processes,
        }
    }

    fn since(&self, before: &Cpu) -> CpuUse {
        // Linux counts in USER_HZ, 100 a second everywhere in practice.
        let ticks = self.at.duration_since(before.at).as_secs_f64() * 100.0;
        let processes: Vec<f64> = self
            .processes
            .iter()
            .zip(&before.processes)
            .map(|(now, then)| now.saturating_sub(*then) as f64 / ticks)
            .collect();
        let all = self.busy.saturating_sub(before.busy) as f64 / ticks;
        let seconds = self
            .processes
            .iter()
            .zip(&before.processes)
            .map(|(now, then)| now.saturating_sub(*then) as f64 / 100.0)
            .collect();
        CpuUse {
            seconds,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            rest: (all - processes.iter().sum::<f64>()).max(0.0),
            processes,
        }
    }
}

/// No notice message is waiting any more (queued or being sent).
async fn settled(db: &app::db::Db) -> bool {
    let waiting: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outgoing_messages
         WHERE notice_id IS NOT NULL AND status IN ('queued', 'sending')",
    )
    .fetch_one(db)
    .await
    .unwrap();
    waiting == 0
}

/// The process's peak resident memory (VmHWM), in kB.
fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://giveaway:giveaway@127.0.0.1:5432/postgres".into())
}

/// A fresh database: (URL, PostgreSQL database name to drop afterwards).
async fn database(backend: &str, work: &Path) -> (String, Option<String>) {
    if backend == "sqlite" {
        let file: PathBuf = work.join("fanout.db");
        return (format!("sqlite://{}", file.display()), None);
    }
    let name = format!("giveaway_fanout_{}", &app::db::new_id()[..16]);
    let admin = postgres_admin_url();
    let pool = sqlx::PgPool::connect(&admin)
        .await
        .expect("PostgreSQL reachable at TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let base = admin.rsplit_once('/').unwrap().0;
    (format!("{base}/{name}"), Some(name))
}

async fn drop_database(name: &str) {
    if let Ok(pool) = sqlx::PgPool::connect(&postgres_admin_url()).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&pool)
            .await;
        pool.close().await;
    }
}
