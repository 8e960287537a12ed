//! One owning module per table, the only one that names the table and its columns (issue #15):
//! another module that needs the data calls the owner's store, or, in a hot path that must stay
//! one query, composes a fragment the owner exports (`campaigns::store::campaign_join`, …).
//!
//! The statements are those `sql_statements` finds, each piece of their text traced to the file
//! that wrote it. A piece may name a table (`FROM t`, `JOIN t`, `t.column`) or a column (`c.title`
//! where `c` is the alias of a table, or a bare column of a table in the statement that none of
//! the piece's own tables has) only if its module owns that table. A statement that writes a
//! table (`INSERT INTO`, `UPDATE`, `DELETE FROM`) runs only in the owner's module.

use crate::sql_statements::{
    product_sources, scan_tagged, untagged, TAG_CLOSE, TAG_OPEN, TAG_TEXT,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each table and its owner: the module whose store inserts its rows. A module is the folder
/// under `app/src`, or the file itself for the files outside one (`server/src/sessions.rs`).
/// README "Where to change what" and `app/src/db.rs` list the same.
const OWNERS: &[(&str, &str)] = &[
    ("admins", "admins"),
    ("campaigns", "campaigns"),
    ("uploads", "campaigns"),
    ("entries", "entries"),
    ("subscribers", "entries"),
    ("subscriber_keywords", "entries"),
    ("code_misses", "entries"),
    ("pages", "pages"),
    ("page_admins", "pages"),
    ("notices", "notices"),
    ("jobs", "notices"),
    ("page_templates", "notices"),
    ("outgoing_messages", "messenger"),
    ("webhook_events", "messenger"),
    ("sessions", "server/src/sessions.rs"),
    ("tickets", "winners"),
    ("draw_seeds", "winners"),
    ("draws", "winners"),
    ("draw_tickets", "winners"),
    ("winners", "winners"),
    ("page_hooks", "handoff"),
    ("hook_deliveries", "handoff"),
    ("deletion_requests", "privacy"),
    ("funnel_counts", "insight"),
    ("alerts", "alerts"),
    ("alert_lease", "alerts"),
];

/// Files (or folders, ending in `/`) allowed to name a table they do not own, each with its
/// reason. Keep it short.
const ALLOWED: &[(&str, &str, &str)] = &[
    // The winners' draw was being rewritten while the owners were settled (issue #15): its
    // queries, and the campaign store's joins to the draw's tables, are left as they were.
    (
        "app/src/winners/store.rs",
        "entries",
        "the draw reads the entries it draws from",
    ),
    (
        "app/src/winners/store.rs",
        "subscribers",
        "the draw reads the winners' names",
    ),
    (
        "app/src/campaigns/store.rs",
        "draw_seeds",
        "the campaign list shows whether a draw is committed",
    ),
    (
        "app/src/campaigns/store.rs",
        "draws",
        "the campaign list shows whether the draw ran",
    ),
];

fn module_of(file: &str) -> String {
    match file.strip_prefix("app/src/") {
        Some(rest) if rest.contains('/') => rest.split('/').next().unwrap().to_string(),
        _ => file.to_string(),
    }
}

/// Tables and their columns, from the migrations (`CREATE TABLE` and `ALTER TABLE … ADD COLUMN`).
fn schema(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files: Vec<_> = std::fs::read_dir(root.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    let mut tables: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut current: Option<String> = None;
        for line in text.lines() {
            let line = line.split("--").next().unwrap_or_default();
            let words: Vec<&str> = line
                .split(|c: char| c.is_whitespace() || c == '(' || c == ',' || c == ';')
                .filter(|w| !w.is_empty())
                .collect();
            match words.as_slice() {
                ["CREATE", "TABLE", "IF", "NOT", "EXISTS", name, ..]
                | ["CREATE", "TABLE", name, ..] => {
                    current = Some(name.to_string());
                    tables.entry(name.to_string()).or_default();
                }
                ["ALTER", "TABLE", name, "ADD", "COLUMN", column, ..] => {
                    tables
                        .entry(name.to_string())
                        .or_default()
                        .insert(column.to_string());
                }
                [column, ..] if current.is_some() && is_name(column) => {
                    tables
                        .get_mut(current.as_ref().unwrap())
                        .unwrap()
                        .insert(column.to_string());
                }
                _ => {}
            }
            if line.trim_start().starts_with(')') {
                current = None;
            }
        }
    }
    tables
}

/// A lower-case SQL name (the product writes keywords in upper case).
fn is_name(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A word of a statement and the file its text came from.
#[derive(Debug)]
struct Word {
    text: String,
    file: String,
    /// `x.text`: the qualifier.
    qualifier: Option<String>,
}

/// The statement's words (names, keywords, and `,`), each with its file, quoted strings left out.
fn words(tagged: &str, files: &[String], statement_file: &str) -> Vec<Word> {
    // The file of each character of the untagged text.
    let mut text = Vec::new();
    let mut owner: Option<usize> = None;
    let mut chars = tagged.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            TAG_OPEN => {
                let mut digits = String::new();
                for d in chars.by_ref() {
                    if d == TAG_TEXT {
                        break;
                    }
                    digits.push(d);
                }
                owner = digits.parse().ok();
            }
            TAG_CLOSE => owner = None,
            c => text.push((c, owner)),
        }
    }
    let file_of = |o: Option<usize>| o.map_or(statement_file.to_string(), |i| files[i].clone());
    let mut out: Vec<Word> = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let (c, o) = text[i];
        if c == '\'' {
            i += 1;
            while i < text.len() && text[i].0 != '\'' {
                i += 1;
            }
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < text.len() && (text[i].0.is_ascii_alphanumeric() || text[i].0 == '_') {
                i += 1;
            }
            let word: String = text[start..i].iter().map(|(c, _)| c).collect();
            let qualified = start > 0 && text[start - 1].0 == '.';
            if qualified {
                if let Some(last) = out.last_mut() {
                    if last.qualifier.is_none() {
                        last.qualifier = Some(std::mem::replace(&mut last.text, word));
                        continue;
                    }
                }
            }
            out.push(Word {
                text: word,
                file: file_of(o),
                qualifier: None,
            });
        } else if c == ',' || c == '(' || c == ')' {
            out.push(Word {
                text: c.to_string(),
                file: file_of(o),
                qualifier: None,
            });
            i += 1;
        } else if c.is_ascii_digit() || c == '$' {
            // `$1`, `42`: not names.
            while i < text.len() && (text[i].0.is_ascii_alphanumeric() || text[i].0 == '$') {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

/// What a statement's pieces name that their modules do not own.
fn trespasses(
    tagged: &str,
    files: &[String],
    statement_file: &str,
    tables: &BTreeMap<String, BTreeSet<String>>,
    owners: &BTreeMap<&str, &str>,
) -> BTreeSet<String> {
    let words = words(tagged, files, statement_file);
    let may_name = |file: &str, table: &str| {
        owners.get(table).is_some_and(|o| *o == module_of(file))
            || ALLOWED.iter().any(|(f, t, _)| {
                *t == table && (*f == file || (f.ends_with('/') && file.starts_with(f)))
            })
    };
    // The tables of the statement and their aliases.
    let mut used: BTreeSet<&str> = BTreeSet::new();
    let mut aliases: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (i, w) in words.iter().enumerate() {
        let after_keyword = i > 0
            && matches!(
                words[i - 1].text.as_str(),
                "FROM" | "JOIN" | "UPDATE" | "INTO"
            )
            && words[i - 1].qualifier.is_none();
        let after_comma = i > 1 && words[i - 1].text == "," && {
            // `FROM a x, b y`: a comma after a table and its alias.
            let before = &words[i - 2];
            tables.contains_key(before.text.as_str())
                || (i > 2 && tables.contains_key(words[i - 3].text.as_str()))
        };
        if w.qualifier.is_none() && (after_keyword || after_comma) {
            if let Some((name, _)) = tables.get_key_value(w.text.as_str()) {
                used.insert(name);
                let mut next = i + 1;
                if words.get(next).is_some_and(|n| n.text == "AS") {
                    next += 1;
                }
                if let Some(alias) = words.get(next).filter(|n| is_name(&n.text)) {
                    aliases.entry(alias.text.as_str()).or_default().insert(name);
                }
            }
        }
    }
    let mut found = BTreeSet::new();
    for (i, w) in words.iter().enumerate() {
        let named: Vec<(&str, Option<&str>)> = match &w.qualifier {
            Some(q) if tables.contains_key(q.as_str()) => vec![(q.as_str(), Some(&w.text))],
            Some(q) => aliases
                .get(q.as_str())
                .into_iter()
                .flatten()
                .filter(|t| tables[**t].contains(&w.text))
                .map(|t| (*t, Some(w.text.as_str())))
                .collect(),
            // `… AS entries`: a name the statement gives its result, not a table.
            None if i > 0 && words[i - 1].text == "AS" => Vec::new(),
            None if tables.contains_key(w.text.as_str()) => vec![(w.text.as_str(), None)],
            None if is_name(&w.text) => {
                // A bare column: named for a table of the statement that has it, unless one
                // of the piece's own tables has it too.
                let having: Vec<&str> = used
                    .iter()
                    .copied()
                    .filter(|t| tables[*t].contains(&w.text))
                    .collect();
                if having.iter().any(|t| may_name(&w.file, t))
                    || aliases.contains_key(w.text.as_str())
                {
                    Vec::new()
                } else {
                    having
                        .into_iter()
                        .map(|t| (t, Some(w.text.as_str())))
                        .collect()
                }
            }
            None => Vec::new(),
        };
        for (table, column) in named {
            if !may_name(&w.file, table) {
                let owner = owners.get(table).copied().unwrap_or("nobody");
                found.insert(match column {
                    Some(c) => format!("{}: names {table}.{c} (owned by {owner})", w.file),
                    None => format!("{}: names {table} (owned by {owner})", w.file),
                });
            }
        }
    }
    // Writes run in the owner's module.
    let plain = untagged(tagged);
    let first: Vec<&str> = plain.split_whitespace().take(3).collect();
    let written = match first.as_slice() {
        ["INSERT", "INTO", t, ..] | ["DELETE", "FROM", t, ..] | ["UPDATE", t, ..] => {
            Some(t.split('(').next().unwrap_or_default())
        }
        _ => None,
    };
    // No exception here: the listed ones only read.
    if let Some(table) = written.filter(|t| tables.contains_key(*t)) {
        if owners
            .get(table)
            .is_none_or(|o| *o != module_of(statement_file))
        {
            found.insert(format!(
                "{statement_file}: writes {table} (owned by {})",
                owners.get(table).copied().unwrap_or("nobody")
            ));
        }
    }
    found
}

/// What `sources` name that their modules do not own, one line a file and table: the columns
/// named and the lines of the statements.
fn check(
    sources: &[(String, String)],
    tables: &BTreeMap<String, BTreeSet<String>>,
) -> BTreeSet<String> {
    let owners: BTreeMap<&str, &str> = OWNERS.iter().copied().collect();
    let (found, files) = scan_tagged(sources);
    // (file, table, owner) -> (what is named, lines)
    type Named = (BTreeSet<String>, BTreeSet<String>);
    let mut grouped: BTreeMap<(String, String, String), Named> = BTreeMap::new();
    for f in &found {
        for v in &f.variants {
            for p in trespasses(v, &files, &f.file, tables, &owners) {
                // "<file>: names|writes <table>[.<column>] (owned by <owner>)"
                let (file, rest) = p.split_once(": ").unwrap();
                let (what, owner) = rest.split_once(" (owned by ").unwrap();
                let (verb, name) = what.split_once(' ').unwrap();
                let (table, column) = name.split_once('.').unwrap_or((name, ""));
                let entry = grouped
                    .entry((
                        file.to_string(),
                        table.to_string(),
                        owner.trim_end_matches(')').to_string(),
                    ))
                    .or_default();
                entry.0.insert(if verb == "writes" {
                    "WRITES".to_string()
                } else if column.is_empty() {
                    "the table".to_string()
                } else {
                    column.to_string()
                });
                entry.1.insert(format!("{}:{}", f.file, f.line));
            }
        }
    }
    grouped
        .into_iter()
        .map(|((file, table, owner), (named, at))| {
            format!(
                "{file}: {table} (owned by {owner}): {}\n    at {}",
                named.into_iter().collect::<Vec<_>>().join(", "),
                at.into_iter().collect::<Vec<_>>().join(", ")
            )
        })
        .collect()
}

#[test]
fn each_table_is_named_only_by_its_owning_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let tables = schema(root);
    let owned: BTreeSet<&str> = OWNERS.iter().map(|(t, _)| *t).collect();
    let known: BTreeSet<&str> = tables.keys().map(String::as_str).collect();
    assert_eq!(
        owned, known,
        "every table of the migrations has one owner in OWNERS"
    );
    assert!(
        tables["campaigns"].contains("title") && tables["campaigns"].contains("draw_mode"),
        "the migrations' columns are read: {:?}",
        tables["campaigns"]
    );
    let sources = product_sources(root);
    // An exception that no longer names its table is out of date.
    for (file, table, reason) in ALLOWED {
        let text = &sources.iter().find(|(path, _)| path == file).unwrap().1;
        assert!(
            [" ", "\n"].iter().any(|before| {
                ["FROM", "JOIN"]
                    .iter()
                    .any(|kw| text.contains(&format!("{kw}{before}{table} ")))
            }),
            "ALLOWED lets {file} name {table} ({reason}), which it no longer does: remove it"
        );
    }
    let problems = check(&sources, &tables);
    assert!(
        problems.is_empty(),
        "{} place(s) name a table or column another module owns: call the owner's store, or \
         compose a fragment it exports\n{}",
        problems.len(),
        problems.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// The check itself, on sources written for it: a fragment the owner exports may be composed
/// anywhere; a join, a column through an alias, a bare column or a write outside the owner fail.
#[test]
fn the_owner_check_sees_each_way_of_naming_a_table() {
    let owns = r#"
        pub(crate) const THING_COLUMNS: &str = "t.id AS thing_id, t.name AS thing_name";
        /// The caller completes the condition with its own key.
        pub(crate) const THING_JOIN: &str = "JOIN things t ON t.id =";
        async fn own() {
            sqlx::query("UPDATE things SET name = $1 WHERE id = $2");
        }
    "#;
    let composes = r#"
        use crate::things::store::{THING_COLUMNS, THING_JOIN};
        async fn fine() {
            sqlx::query(&format!("SELECT o.id, {THING_COLUMNS} FROM others o {THING_JOIN} o.thing_id"));
        }
        async fn joins() {
            sqlx::query("SELECT o.id FROM others o JOIN things t ON t.id = o.thing_id");
        }
        async fn alias() {
            sqlx::query(&format!("SELECT o.id, t.name FROM others o {THING_JOIN} o.thing_id"));
        }
        async fn bare() {
            sqlx::query(&format!("SELECT o.id FROM others o {THING_JOIN} o.thing_id WHERE name = $1"));
        }
        async fn writes() {
            sqlx::query(&format!("UPDATE things SET name = $1"));
        }
    "#;
    let mut tables = BTreeMap::new();
    tables.insert(
        "things".to_string(),
        ["id", "name"].map(String::from).into_iter().collect(),
    );
    tables.insert(
        "others".to_string(),
        ["id", "thing_id"].map(String::from).into_iter().collect(),
    );
    let owners: BTreeMap<&str, &str> = [("things", "things"), ("others", "others")].into();
    let sources = [
        ("app/src/things/store.rs".to_string(), owns.to_string()),
        ("app/src/others/store.rs".to_string(), composes.to_string()),
    ];
    let (found, files) = scan_tagged(&sources);
    let mut by_line: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for f in found.iter().filter(|f| f.file == "app/src/others/store.rs") {
        for v in &f.variants {
            by_line
                .entry(f.line)
                .or_default()
                .extend(trespasses(v, &files, &f.file, &tables, &owners));
        }
    }
    let at = |line: usize| by_line.get(&line).cloned().unwrap_or_default();
    assert!(at(4).is_empty(), "{:?}", at(4));
    assert!(
        at(7).iter().any(|p| p.contains("names things ")),
        "{:?}",
        at(7)
    );
    assert!(
        at(10).iter().any(|p| p.contains("names things.name")),
        "{:?}",
        at(10)
    );
    assert!(
        at(13).iter().any(|p| p.contains("names things.name")),
        "{:?}",
        at(13)
    );
    assert!(
        at(16).iter().any(|p| p.contains("writes things")),
        "{:?}",
        at(16)
    );
}
