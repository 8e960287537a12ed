//! Every SQL statement of the product, prepared on a migrated SQLite and a migrated PostgreSQL
//! database, including the ones no other test executes: a misspelt column anywhere in `app/src`
//! or `server/src` fails here, with the file and line of the statement.
//!
//! The statements are found by reading the source with `syn`, not by running the product: every
//! string literal and every `format!` whose text, once resolved, starts a statement (`SELECT`,
//! `INSERT INTO`, `UPDATE … SET`, `DELETE FROM`, `WITH`, `PRAGMA`). Resolving follows what the
//! code does to build its SQL: `{CONST}` and named `format!` arguments, local `let`s (every
//! branch of an `if` or `match` is one variant), a function's parameters (the arguments its
//! callers pass), functions that return SQL, `.replace(a, b)`, and `db::placeholders(from, n)` /
//! `db::value_rows(rows, width)` (with two elements where the count is only known at run time).
//! A constant or `let` that is only ever interpolated into other SQL is a fragment, checked
//! inside the statements that use it.
//!
//! Nothing is skipped silently: a statement with a part the scan cannot resolve, and SQL inside a
//! macro the scan does not read, fail the test unless listed in `BUILT_AT_RUN_TIME` with a
//! reason; an entry there that no longer matches anything fails it too. A second test runs the
//! scan on a source written for it, so a scan that stops following one of these ways fails.

use quote::ToTokens;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use syn::visit::Visit;
use syn::{punctuated::Punctuated, Expr, Token};

/// A statement the scan cannot resolve: where it is, why, and sample texts for its unresolved
/// parts (by the name the scan reports), so that it is prepared all the same.
struct BuiltAtRunTime {
    file: &'static str,
    /// A piece of the statement's source that identifies it.
    piece: &'static str,
    reason: &'static str,
    samples: &'static [(&'static str, &'static str)],
}

/// Every condition the statistics' filter can add, in the order `conditions` writes them.
const STATS_CONDITIONS: &str = "o.campaign_id = $1 AND o.notice_id = $2 \
     AND o.status IN ('sent', 'delivered', 'read') AND o.error_reason = $3 \
     AND COALESCE(o.sent_at, o.updated_at) >= $4 AND COALESCE(o.sent_at, o.updated_at) < $5";

/// Keep it short: most SQL can be written so the scan reads it.
const BUILT_AT_RUN_TIME: &[BuiltAtRunTime] = &[BuiltAtRunTime {
    file: "app/src/messenger/figures.rs",
    piece: "WHERE {conditions}",
    reason: "the statistics' WHERE clause is built from the admin's filter (scope, notice, \
             status, reason, day) by `conditions`, with the placeholders numbered as it goes",
    samples: &[("conditions", STATS_CONDITIONS)],
}];

/// The product's source folders, from the workspace root.
const SOURCES: [&str; 2] = ["app/src", "server/src"];

/// Where a count is only known at run time (`placeholders(1, ids.len())`), statements are
/// prepared with this many elements.
const SAMPLE_LEN: usize = 2;

/// Variants of one statement beyond this are not expanded (a sign the scan went wrong).
const MAX_VARIANTS: usize = 64;

/// Marks a part of a statement the scan could not resolve.
const UNRESOLVED: char = '\u{1}';

struct FnInfo {
    file: usize,
    name: String,
    /// Parameter names, without `self`.
    params: Vec<String>,
    has_self: bool,
    block: &'static syn::Block,
}

struct Call {
    /// The function that contains the call.
    caller: Option<usize>,
    file: usize,
    args: Vec<&'static Expr>,
    /// A method call (`x.f(a)`): `args` do not include the receiver.
    method: bool,
}

#[derive(Default)]
struct Index {
    /// Wrap each piece of text taken from the source in a mark naming its file (see `tag`), so
    /// that a statement's every part can be traced to the file that wrote it.
    tagged: bool,
    files: Vec<String>,
    parsed: Vec<&'static syn::File>,
    fns: Vec<FnInfo>,
    consts: HashMap<String, Vec<(usize, &'static Expr)>>,
    calls: HashMap<String, Vec<Call>>,
    /// Names interpolated into `format!` strings or passed as `format!` arguments, with the
    /// function they are in (`None` outside functions).
    interpolated: BTreeSet<(Option<usize>, String)>,
    /// Names passed as they are to `sqlx::query*`, likewise.
    direct: BTreeSet<(Option<usize>, String)>,
}

/// Where resolution happens: a file, and the function the expression is in.
#[derive(Clone, Copy)]
struct Scope {
    file: usize,
    function: Option<usize>,
}

#[derive(Debug)]
pub(crate) struct Found {
    pub(crate) file: String,
    pub(crate) line: usize,
    /// The expression, as written (to match `BUILT_AT_RUN_TIME` and to report).
    source: String,
    pub(crate) variants: Vec<String>,
}

/// Marks around a piece of text in a tagged scan: `TAG_OPEN`, the file's index, `TAG_TEXT`, the
/// text, `TAG_CLOSE`. Pieces never nest: only literals and `format!` texts are tagged.
pub(crate) const TAG_OPEN: char = '\u{2}';
pub(crate) const TAG_TEXT: char = '\u{3}';
pub(crate) const TAG_CLOSE: char = '\u{4}';

/// A statement without its tags.
pub(crate) fn untagged(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            TAG_OPEN => in_tag = true,
            TAG_TEXT => in_tag = false,
            TAG_CLOSE => {}
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        let text = a.to_token_stream().to_string().replace(' ', "");
        text == "#[cfg(test)]" || text == "#[test]" || text.starts_with("#[tokio::test")
    })
}

fn is_format(mac: &syn::Macro) -> bool {
    mac.path
        .segments
        .last()
        .is_some_and(|s| s.ident == "format" || s.ident == "format_args")
}

fn is_concat(mac: &syn::Macro) -> bool {
    mac.path
        .segments
        .last()
        .is_some_and(|s| s.ident == "concat")
}

/// The arguments of a macro written like a call (`concat!(a, b)`).
fn macro_args(mac: &'static syn::Macro) -> Option<Vec<&'static Expr>> {
    let args: Punctuated<Expr, Token![,]> =
        mac.parse_body_with(Punctuated::parse_terminated).ok()?;
    let args: &'static Punctuated<Expr, Token![,]> = Box::leak(Box::new(args));
    Some(args.iter().collect())
}

fn last_segment(path: &syn::Path) -> String {
    path.segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

fn single_ident(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 => {
            Some(p.path.segments[0].ident.to_string())
        }
        Expr::Reference(r) => single_ident(&r.expr),
        Expr::Paren(p) => single_ident(&p.expr),
        _ => None,
    }
}

/// The pieces of a `format!` string: literal text, or the argument a `{…}` names.
enum Piece {
    Text(String),
    Positional(Option<usize>),
    Named(String),
}

fn format_pieces(template: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let mut spec = String::new();
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    spec.push(c);
                }
                let name = spec.split(':').next().unwrap_or_default().trim();
                pieces.push(Piece::Text(std::mem::take(&mut text)));
                pieces.push(if name.is_empty() {
                    Piece::Positional(None)
                } else if let Ok(i) = name.parse() {
                    Piece::Positional(Some(i))
                } else {
                    Piece::Named(name.to_string())
                });
            }
            c => text.push(c),
        }
    }
    pieces.push(Piece::Text(text));
    pieces
}

/// The format string and the arguments of a `format!`.
fn format_call(mac: &'static syn::Macro) -> Option<(String, Vec<&'static Expr>)> {
    let args: Punctuated<Expr, Token![,]> =
        mac.parse_body_with(Punctuated::parse_terminated).ok()?;
    // Parsed once and kept: the expressions are borrowed for the rest of the test.
    let args: &'static Punctuated<Expr, Token![,]> = Box::leak(Box::new(args));
    let mut iter = args.iter();
    let template = match iter.next()? {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => s.value(),
        _ => return None,
    };
    Some((template, iter.collect()))
}

fn combine(parts: Vec<Vec<String>>) -> Vec<String> {
    let mut out = vec![String::new()];
    for options in parts {
        let options = if options.is_empty() {
            unresolved("nothing")
        } else {
            options
        };
        let mut next = Vec::new();
        for prefix in &out {
            for option in &options {
                if next.len() < MAX_VARIANTS {
                    next.push(format!("{prefix}{option}"));
                }
            }
        }
        out = next;
    }
    out
}

fn unresolved(what: &str) -> Vec<String> {
    vec![format!("{UNRESOLVED}{what}{UNRESOLVED}")]
}

/// Does this text start an SQL statement? Upper case, as the product writes its SQL.
fn starts_statement(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().take(3).collect();
    matches!(
        words.as_slice(),
        ["SELECT" | "WITH" | "PRAGMA", ..]
            | ["INSERT", "INTO", ..]
            | ["DELETE", "FROM", ..]
            | ["UPDATE", _, "SET", ..]
    )
}

impl Index {
    /// Reads `(path, text)` sources: their functions, constants and calls.
    fn from_sources(sources: &[(String, String)], tagged: bool) -> Index {
        let mut index = Index {
            tagged,
            ..Index::default()
        };
        for (path, text) in sources {
            let file: &'static syn::File = Box::leak(Box::new(
                syn::parse_file(text).unwrap_or_else(|e| panic!("{path} does not parse: {e}")),
            ));
            let id = index.files.len();
            index.files.push(path.clone());
            index.parsed.push(file);
            let mut indexer = Indexer {
                index: &mut index,
                file: id,
                current: None,
            };
            indexer.visit_file(file);
        }
        index
    }

    /// A piece of text from the source, marked with its file when the scan is tagged.
    fn tag(&self, text: String, scope: Scope) -> String {
        if self.tagged && !text.is_empty() {
            format!("{TAG_OPEN}{}{TAG_TEXT}{text}{TAG_CLOSE}", scope.file)
        } else {
            text
        }
    }

    fn params_of(&self, function: usize, name: &str) -> Option<usize> {
        self.fns[function].params.iter().position(|p| p == name)
    }

    /// `let name = …` in the body of `function`, every one of them.
    fn lets(&self, function: usize, name: &str) -> Vec<&'static Expr> {
        struct Lets<'n> {
            name: &'n str,
            found: Vec<&'static Expr>,
        }
        impl Visit<'static> for Lets<'_> {
            fn visit_local(&mut self, local: &'static syn::Local) {
                let ident = match &local.pat {
                    syn::Pat::Ident(p) => Some(&p.ident),
                    syn::Pat::Type(t) => match &*t.pat {
                        syn::Pat::Ident(p) => Some(&p.ident),
                        _ => None,
                    },
                    _ => None,
                };
                if let (Some(ident), Some(init)) = (ident, &local.init) {
                    if ident == self.name {
                        self.found.push(&init.expr);
                    }
                }
                syn::visit::visit_local(self, local);
            }
        }
        let mut lets = Lets {
            name,
            found: Vec::new(),
        };
        lets.visit_block(self.fns[function].block);
        lets.found
    }

    fn number(&self, expr: &Expr) -> usize {
        match expr {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(i),
                ..
            }) => i.base10_parse().unwrap_or(SAMPLE_LEN),
            _ => SAMPLE_LEN,
        }
    }

    /// The texts `expr` can take. `depth` stops a resolution that loops.
    fn resolve(&self, expr: &'static Expr, scope: Scope, depth: usize) -> Vec<String> {
        let mut texts = self.resolve_uncapped(expr, scope, depth);
        texts.truncate(MAX_VARIANTS);
        texts
    }

    fn resolve_uncapped(&self, expr: &'static Expr, scope: Scope, depth: usize) -> Vec<String> {
        if depth > 12 {
            return unresolved("too deep");
        }
        let depth = depth + 1;
        match expr {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => vec![self.tag(s.value(), scope)],
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(i),
                ..
            }) => vec![i.base10_digits().to_string()],
            Expr::Reference(r) => self.resolve(&r.expr, scope, depth),
            Expr::Paren(p) => self.resolve(&p.expr, scope, depth),
            Expr::Group(g) => self.resolve(&g.expr, scope, depth),
            Expr::Macro(m) if is_format(&m.mac) => self.expand(&m.mac, scope, depth),
            // A `macro_rules!` standing for one text (`campaign_columns!()`), indexed as `name!`.
            Expr::Macro(m) if m.mac.tokens.is_empty() && !is_format(&m.mac) => {
                let name = format!("{}!", last_segment(&m.mac.path));
                self.resolve_const(&name, scope, depth)
            }
            Expr::Macro(m) if is_concat(&m.mac) => match macro_args(&m.mac) {
                Some(args) => combine(
                    args.into_iter()
                        .map(|a| self.resolve(a, scope, depth))
                        .collect(),
                ),
                None => unresolved("concat!"),
            },
            Expr::Path(p) => {
                let name = last_segment(&p.path);
                if p.path.segments.len() == 1 {
                    self.resolve_name(&name, scope, depth)
                } else {
                    self.resolve_const(&name, scope, depth)
                }
            }
            Expr::MethodCall(m) => {
                let method = m.method.to_string();
                match method.as_str() {
                    "to_string" | "to_owned" | "as_str" | "into" | "clone" | "trim" => {
                        self.resolve(&m.receiver, scope, depth)
                    }
                    "replace" if m.args.len() == 2 => {
                        let from = self.resolve(&m.args[0], scope, depth);
                        let to = self.resolve(&m.args[1], scope, depth);
                        let (Some(from), Some(to)) = (from.first(), to.first()) else {
                            return unresolved("replace");
                        };
                        let (from, to) = (untagged(from), untagged(to));
                        self.resolve(&m.receiver, scope, depth)
                            .into_iter()
                            .map(|s| s.replace(from.as_str(), &to))
                            .collect()
                    }
                    "join" if m.args.len() == 1 => {
                        let separator = self.resolve(&m.args[0], scope, depth);
                        match (self.list(&m.receiver, scope, depth), separator.first()) {
                            (Some(items), Some(separator)) => {
                                vec![items.join(&untagged(separator))]
                            }
                            _ => unresolved("join"),
                        }
                    }
                    other => unresolved(&format!(".{other}()")),
                }
            }
            Expr::Call(c) => {
                let Expr::Path(f) = &*c.func else {
                    return unresolved("a call");
                };
                let name = last_segment(&f.path);
                let args: Vec<&Expr> = c.args.iter().collect();
                match (name.as_str(), args.as_slice()) {
                    ("placeholders", [from, n]) => {
                        vec![app::db::placeholders(self.number(from), self.number(n))]
                    }
                    ("value_rows", [rows, width]) => {
                        vec![app::db::value_rows(self.number(rows), self.number(width))]
                    }
                    _ => self.returned_by(&name, scope, depth),
                }
            }
            Expr::If(i) => {
                let mut out = self.block_value(&i.then_branch, scope, depth);
                match &i.else_branch {
                    Some((_, other)) => out.extend(self.resolve(other, scope, depth)),
                    None => return unresolved("an if without else"),
                }
                out
            }
            Expr::Match(m) => m
                .arms
                .iter()
                .flat_map(|arm| self.resolve(&arm.body, scope, depth))
                .collect(),
            Expr::Block(b) => self.block_value(&b.block, scope, depth),
            other => unresolved(&other.to_token_stream().to_string()),
        }
    }

    /// The texts of a list (`["a", "b"]`, or a constant holding one), for `.join(…)`.
    fn list(&self, expr: &'static Expr, scope: Scope, depth: usize) -> Option<Vec<String>> {
        match expr {
            Expr::Reference(r) => self.list(&r.expr, scope, depth),
            Expr::Paren(p) => self.list(&p.expr, scope, depth),
            Expr::Array(a) => Some(
                a.elems
                    .iter()
                    .map(|e| self.resolve(e, scope, depth).swap_remove(0))
                    .collect(),
            ),
            Expr::Path(p) => {
                let name = last_segment(&p.path);
                let defs = self.consts.get(&name)?;
                let local: Vec<_> = defs.iter().filter(|(f, _)| *f == scope.file).collect();
                let (file, init) = match (local.as_slice(), defs.as_slice()) {
                    ([one], _) => **one,
                    ([], [one]) => *one,
                    _ => return None,
                };
                let scope = Scope {
                    file,
                    function: None,
                };
                self.list(init, scope, depth)
            }
            _ => None,
        }
    }

    fn block_value(&self, block: &'static syn::Block, scope: Scope, depth: usize) -> Vec<String> {
        match block.stmts.last() {
            Some(syn::Stmt::Expr(e, None)) => self.resolve(e, scope, depth),
            Some(syn::Stmt::Macro(m)) if is_format(&m.mac) && m.semi_token.is_none() => {
                self.expand(&m.mac, scope, depth)
            }
            _ => unresolved("a block without a value"),
        }
    }

    /// What the function `name` returns (its body's value), in its own scope.
    fn returned_by(&self, name: &str, scope: Scope, depth: usize) -> Vec<String> {
        let candidates: Vec<usize> = (0..self.fns.len())
            .filter(|&i| self.fns[i].name == name)
            .collect();
        let local: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| self.fns[i].file == scope.file)
            .collect();
        let chosen = if local.is_empty() { candidates } else { local };
        if chosen.is_empty() {
            return unresolved(&format!("{name}()"));
        }
        chosen
            .into_iter()
            .flat_map(|i| {
                let f = &self.fns[i];
                let scope = Scope {
                    file: f.file,
                    function: Some(i),
                };
                self.block_value(f.block, scope, depth)
            })
            .collect()
    }

    fn resolve_name(&self, name: &str, scope: Scope, depth: usize) -> Vec<String> {
        if let Some(function) = scope.function {
            let lets = self.lets(function, name);
            if !lets.is_empty() {
                return lets
                    .into_iter()
                    .flat_map(|init| self.resolve(init, scope, depth))
                    .collect();
            }
            if let Some(position) = self.params_of(function, name) {
                return self.passed_to(function, position, depth);
            }
        }
        self.resolve_const(name, scope, depth)
    }

    /// Every argument the callers of `function` pass for its parameter at `position`.
    fn passed_to(&self, function: usize, position: usize, depth: usize) -> Vec<String> {
        let f = &self.fns[function];
        let namesakes = self.fns.iter().filter(|g| g.name == f.name);
        let in_file = namesakes.clone().filter(|g| g.file == f.file).count();
        let Some(calls) = self.calls.get(&f.name) else {
            return unresolved(&format!("parameter {position} of {}", f.name));
        };
        // A name several functions share (`new`, `start`) is followed only within one file
        // that has a single function of that name, and only when few places call it.
        if (in_file > 1 || (namesakes.count() > 1 && !calls.iter().any(|c| c.file == f.file)))
            || calls.len() > 20
        {
            return unresolved(&format!("parameter {position} of {}", f.name));
        }
        let mut out = Vec::new();
        // Calls from the function's own file when there are any: another file's function of
        // the same name is likely another function.
        let local = calls.iter().any(|c| c.file == f.file);
        for call in calls.iter().filter(|c| !local || c.file == f.file) {
            let index = match (f.has_self, call.method) {
                // `x.f(a)`: the receiver is not among the arguments.
                (true, true) | (false, false) => position,
                // `Type::f(x, a)`: it is the first.
                (true, false) => position + 1,
                // A method of that name cannot be this function.
                (false, true) => continue,
            };
            if let Some(arg) = call.args.get(index) {
                let scope = Scope {
                    file: call.file,
                    function: call.caller,
                };
                out.extend(self.resolve(arg, scope, depth));
            }
        }
        if out.is_empty() {
            return unresolved(&format!("parameter {position} of {}", f.name));
        }
        out.sort();
        out.dedup();
        out
    }

    fn resolve_const(&self, name: &str, scope: Scope, depth: usize) -> Vec<String> {
        let Some(defs) = self.consts.get(name) else {
            return unresolved(name);
        };
        let local: Vec<_> = defs.iter().filter(|(f, _)| *f == scope.file).collect();
        let (file, init) = match (local.as_slice(), defs.as_slice()) {
            ([one], _) => **one,
            ([], [one]) => *one,
            _ => return unresolved(&format!("{name} (defined more than once)")),
        };
        self.resolve(
            init,
            Scope {
                file,
                function: None,
            },
            depth,
        )
    }

    fn expand(&self, mac: &'static syn::Macro, scope: Scope, depth: usize) -> Vec<String> {
        let Some((template, args)) = format_call(mac) else {
            return unresolved("format! without a literal");
        };
        let mut positional = Vec::new();
        let mut named = HashMap::new();
        for arg in args {
            match arg {
                Expr::Assign(a) => {
                    if let Some(name) = single_ident(&a.left) {
                        named.insert(name, &*a.right);
                    }
                }
                other => positional.push(other),
            }
        }
        let mut next = 0;
        let mut parts = Vec::new();
        for piece in format_pieces(&template) {
            parts.push(match piece {
                Piece::Text(t) => vec![self.tag(t, scope)],
                Piece::Positional(i) => {
                    let i = i.unwrap_or_else(|| {
                        next += 1;
                        next - 1
                    });
                    match positional.get(i) {
                        Some(arg) => self.resolve(arg, scope, depth),
                        None => unresolved("a missing argument"),
                    }
                }
                Piece::Named(name) => match named.get(&name) {
                    Some(arg) => self.resolve(arg, scope, depth),
                    None => self.resolve_name(&name, scope, depth),
                },
            });
        }
        combine(parts)
    }
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// First pass: functions, constants, calls, and which names are interpolated or queried as
/// they are.
struct Indexer<'i> {
    index: &'i mut Index,
    file: usize,
    current: Option<usize>,
}

impl Indexer<'_> {
    fn function(&mut self, sig: &'static syn::Signature, block: &'static syn::Block) {
        let mut params = Vec::new();
        let mut has_self = false;
        for input in &sig.inputs {
            match input {
                syn::FnArg::Receiver(_) => has_self = true,
                syn::FnArg::Typed(t) => params.push(match &*t.pat {
                    syn::Pat::Ident(p) => p.ident.to_string(),
                    _ => String::new(),
                }),
            }
        }
        self.index.fns.push(FnInfo {
            file: self.file,
            name: sig.ident.to_string(),
            params,
            has_self,
            block,
        });
        let outer = self.current.replace(self.index.fns.len() - 1);
        self.visit_block(block);
        self.current = outer;
    }

    fn note_format(&mut self, mac: &'static syn::Macro) {
        if let Some((template, args)) = format_call(mac) {
            for piece in format_pieces(&template) {
                if let Piece::Named(name) = piece {
                    self.index.interpolated.insert((self.current, name));
                }
            }
            for arg in args {
                let arg = match arg {
                    Expr::Assign(a) => &*a.right,
                    other => other,
                };
                if let Some(name) = single_ident(arg) {
                    self.index.interpolated.insert((self.current, name));
                }
                self.visit_expr(arg);
            }
        }
    }
}

impl Visit<'static> for Indexer<'_> {
    fn visit_item_mod(&mut self, m: &'static syn::ItemMod) {
        if !is_test_only(&m.attrs) {
            syn::visit::visit_item_mod(self, m);
        }
    }
    fn visit_item_fn(&mut self, f: &'static syn::ItemFn) {
        if !is_test_only(&f.attrs) {
            self.function(&f.sig, &f.block);
        }
    }
    fn visit_impl_item_fn(&mut self, f: &'static syn::ImplItemFn) {
        if !is_test_only(&f.attrs) {
            self.function(&f.sig, &f.block);
        }
    }
    fn visit_item_const(&mut self, c: &'static syn::ItemConst) {
        self.index
            .consts
            .entry(c.ident.to_string())
            .or_default()
            .push((self.file, &c.expr));
        syn::visit::visit_item_const(self, c);
    }
    /// `macro_rules! name { () => { "text" } }`: a macro that stands for one text (a column
    /// list written once for several `concat!`s), indexed like a constant under `name!`.
    fn visit_item_macro(&mut self, m: &'static syn::ItemMacro) {
        use proc_macro2::TokenTree;
        if let (true, Some(ident)) = (m.mac.path.is_ident("macro_rules"), &m.ident) {
            let tokens: Vec<TokenTree> = m.mac.tokens.clone().into_iter().collect();
            if let [TokenTree::Group(args), TokenTree::Punct(eq), TokenTree::Punct(gt), TokenTree::Group(body), ..] =
                tokens.as_slice()
            {
                let arrow = eq.as_char() == '=' && gt.as_char() == '>';
                if arrow && args.stream().is_empty() {
                    if let Ok(expr) = syn::parse2::<Expr>(body.stream()) {
                        let expr: &'static Expr = Box::leak(Box::new(expr));
                        self.index
                            .consts
                            .entry(format!("{ident}!"))
                            .or_default()
                            .push((self.file, expr));
                    }
                }
            }
        }
        syn::visit::visit_item_macro(self, m);
    }
    fn visit_item_static(&mut self, s: &'static syn::ItemStatic) {
        self.index
            .consts
            .entry(s.ident.to_string())
            .or_default()
            .push((self.file, &s.expr));
        syn::visit::visit_item_static(self, s);
    }
    fn visit_expr_call(&mut self, c: &'static syn::ExprCall) {
        if let Expr::Path(f) = &*c.func {
            let name = last_segment(&f.path);
            if name.starts_with("query") {
                if let Some(arg) = c.args.first().and_then(single_ident) {
                    self.index.direct.insert((self.current, arg));
                }
            }
            self.index.calls.entry(name).or_default().push(Call {
                caller: self.current,
                file: self.file,
                args: c.args.iter().collect(),
                method: false,
            });
        }
        syn::visit::visit_expr_call(self, c);
    }
    fn visit_expr_method_call(&mut self, m: &'static syn::ExprMethodCall) {
        self.index
            .calls
            .entry(m.method.to_string())
            .or_default()
            .push(Call {
                caller: self.current,
                file: self.file,
                args: m.args.iter().collect(),
                method: true,
            });
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_macro(&mut self, mac: &'static syn::Macro) {
        if is_format(mac) {
            self.note_format(mac);
        }
    }
}

/// Second pass: the statements.
struct Finder<'i> {
    index: &'i Index,
    file: usize,
    current: Option<usize>,
    /// Functions in the order the first pass met them, to find each one's index again.
    next_fn: usize,
    found: Vec<Found>,
    /// SQL the scan cannot read (inside another macro): (line, text).
    opaque: Vec<(usize, String)>,
}

impl Finder<'_> {
    fn candidate(&mut self, expr: &'static Expr, line: usize) {
        // A `format!` whose own text starts with anything but an interpolation or a statement
        // builds something else (a URL, a message): not worth resolving.
        if let Expr::Macro(m) = expr {
            if !is_format(&m.mac) {
                return self.resolve_candidate(expr, line);
            }
            let Some((template, _)) = format_call(&m.mac) else {
                return;
            };
            let probe: String = format_pieces(&template)
                .into_iter()
                .map(|p| match p {
                    Piece::Text(t) => t,
                    _ => "x".to_string(),
                })
                .collect();
            if !template.trim_start().starts_with('{') && !starts_statement(&probe) {
                return;
            }
        }
        self.resolve_candidate(expr, line);
    }

    fn resolve_candidate(&mut self, expr: &'static Expr, line: usize) {
        let scope = Scope {
            file: self.file,
            function: self.current,
        };
        let variants = self.index.resolve(expr, scope, 0);
        if variants.iter().any(|v| starts_statement(&untagged(v))) {
            self.found.push(Found {
                file: self.index.files[self.file].clone(),
                line,
                source: expr.to_token_stream().to_string(),
                variants,
            });
        }
    }

    /// A constant that is only interpolated into other SQL (anywhere) is a fragment.
    fn const_fragment(&self, name: &str) -> bool {
        let interpolated = self.index.interpolated.iter().any(|(_, n)| n == name);
        let direct = self.index.direct.iter().any(|(_, n)| n == name);
        interpolated && !direct
    }

    /// So is a `let` only interpolated within its function.
    fn let_fragment(&self, name: &str) -> bool {
        let key = (self.current, name.to_string());
        self.index.interpolated.contains(&key) && !self.index.direct.contains(&key)
    }

    fn function(&mut self, block: &'static syn::Block) {
        let outer = self.current.replace(self.next_fn);
        self.next_fn += 1;
        self.visit_block(block);
        self.current = outer;
    }
}

impl Visit<'static> for Finder<'_> {
    /// Doc comments and attributes are not SQL the product runs.
    fn visit_attribute(&mut self, _: &'static syn::Attribute) {}
    fn visit_item_mod(&mut self, m: &'static syn::ItemMod) {
        if !is_test_only(&m.attrs) {
            syn::visit::visit_item_mod(self, m);
        }
    }
    fn visit_item_fn(&mut self, f: &'static syn::ItemFn) {
        if !is_test_only(&f.attrs) {
            self.function(&f.block);
        }
    }
    fn visit_impl_item_fn(&mut self, f: &'static syn::ImplItemFn) {
        if !is_test_only(&f.attrs) {
            self.function(&f.block);
        }
    }
    fn visit_item_const(&mut self, c: &'static syn::ItemConst) {
        if !self.const_fragment(&c.ident.to_string()) {
            self.visit_expr(&c.expr);
        }
    }
    fn visit_item_static(&mut self, s: &'static syn::ItemStatic) {
        if !self.const_fragment(&s.ident.to_string()) {
            self.visit_expr(&s.expr);
        }
    }
    fn visit_local(&mut self, local: &'static syn::Local) {
        let name = match &local.pat {
            syn::Pat::Ident(p) => Some(p.ident.to_string()),
            syn::Pat::Type(t) => match &*t.pat {
                syn::Pat::Ident(p) => Some(p.ident.to_string()),
                _ => None,
            },
            _ => None,
        };
        let literal = local.init.as_ref().is_some_and(|i| {
            matches!(&*i.expr, Expr::Lit(_))
                || matches!(&*i.expr, Expr::Macro(m) if is_format(&m.mac))
        });
        if literal && name.is_some_and(|n| self.let_fragment(&n)) {
            return;
        }
        syn::visit::visit_local(self, local);
    }
    fn visit_expr(&mut self, expr: &'static Expr) {
        match expr {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => self.candidate(expr, s.span().start().line),
            Expr::Macro(m) if is_format(&m.mac) || is_concat(&m.mac) => {
                let line = m.mac.path.segments[0].ident.span().start().line;
                self.candidate(expr, line);
            }
            _ => syn::visit::visit_expr(self, expr),
        }
    }
    fn visit_stmt_macro(&mut self, m: &'static syn::StmtMacro) {
        if is_format(&m.mac) || is_concat(&m.mac) {
            // A `format!` as a statement (a function's value, written without `;`).
            let expr: &'static Expr = Box::leak(Box::new(Expr::Macro(syn::ExprMacro {
                attrs: Vec::new(),
                mac: m.mac.clone(),
            })));
            let line = m.mac.path.segments[0].ident.span().start().line;
            self.candidate(expr, line);
        } else {
            self.visit_macro(&m.mac);
        }
    }
    fn visit_macro(&mut self, mac: &'static syn::Macro) {
        // Another macro's body is not parsed: any SQL in it is reported, never skipped.
        fn literals(tokens: proc_macro2::TokenStream, out: &mut Vec<(usize, String)>) {
            for token in tokens {
                match token {
                    proc_macro2::TokenTree::Group(g) => literals(g.stream(), out),
                    proc_macro2::TokenTree::Literal(l) => {
                        if let Ok(s) = syn::parse_str::<syn::LitStr>(&l.to_string()) {
                            if starts_statement(&s.value()) {
                                out.push((l.span().start().line, s.value()));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        if !is_format(mac) && !is_concat(mac) {
            literals(mac.tokens.clone(), &mut self.opaque);
        }
    }
}

/// The product's sources, as `(path from the workspace root, text)`.
pub(crate) fn product_sources(root: &Path) -> Vec<(String, String)> {
    let mut sources = Vec::new();
    for dir in SOURCES {
        let mut paths = Vec::new();
        collect_rs(&root.join(dir), &mut paths);
        paths.sort();
        for path in paths {
            let name = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            sources.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
    sources
}

/// The statements of `sources` (by text, with the places that run them), and what is wrong
/// with the scan's findings: statements it cannot resolve and does not list, SQL it cannot read,
/// listed statements that are gone.
fn scan(sources: &[(String, String)]) -> (BTreeMap<String, Vec<String>>, Vec<String>) {
    let (found, opaque) = find(sources, false);
    classify(&found, &opaque)
}

/// The statements of `sources` with each piece of their text marked with the file it comes from
/// (`TAG_OPEN` …), and the files by index. Statements the scan cannot resolve are kept as they
/// are: `scan` reports them.
pub(crate) fn scan_tagged(sources: &[(String, String)]) -> (Vec<Found>, Vec<String>) {
    let (found, _) = find(sources, true);
    let files = sources.iter().map(|(path, _)| path.clone()).collect();
    (found, files)
}

fn find(sources: &[(String, String)], tagged: bool) -> (Vec<Found>, Vec<String>) {
    let index = Index::from_sources(sources, tagged);
    let mut found = Vec::new();
    let mut opaque = Vec::new();
    let mut next_fn = 0;
    for (file, name) in index.files.iter().enumerate() {
        let mut finder = Finder {
            index: &index,
            file,
            current: None,
            next_fn,
            found: Vec::new(),
            opaque: Vec::new(),
        };
        finder.visit_file(index.parsed[file]);
        next_fn = finder.next_fn;
        found.extend(finder.found);
        opaque.extend(
            finder
                .opaque
                .into_iter()
                .map(|(line, sql)| format!("{name}:{line}: {sql}")),
        );
    }
    assert_eq!(
        next_fn,
        index.fns.len(),
        "both passes meet the same functions"
    );
    (found, opaque)
}

/// Sorts the findings: statements (every variant, with its places), and problems.
fn classify(found: &[Found], opaque: &[String]) -> (BTreeMap<String, Vec<String>>, Vec<String>) {
    // Statements the scan could not resolve, unless listed with a reason.
    let mut listed_used = vec![false; BUILT_AT_RUN_TIME.len()];
    let mut problems = Vec::new();
    let mut statements: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in found {
        let at = format!("{}:{}", f.file, f.line);
        let open: Vec<&String> = f
            .variants
            .iter()
            .filter(|v| v.contains(UNRESOLVED))
            .collect();
        if !open.is_empty() {
            let listed = BUILT_AT_RUN_TIME
                .iter()
                .position(|b| f.file == b.file && f.source.contains(b.piece));
            let Some(i) = listed else {
                problems.push(format!(
                    "{at}: the scan cannot resolve this statement (list it in BUILT_AT_RUN_TIME \
                     with a reason, or build it from constants): {}\n    {}",
                    f.source,
                    open[0].replace(UNRESOLVED, "«?»")
                ));
                continue;
            };
            listed_used[i] = true;
            // Prepared with the samples in place of what only the run time knows.
            for v in &f.variants {
                let mut sql = v.clone();
                for (name, sample) in BUILT_AT_RUN_TIME[i].samples {
                    sql = sql.replace(&format!("{UNRESOLVED}{name}{UNRESOLVED}"), sample);
                }
                if sql.contains(UNRESOLVED) {
                    problems.push(format!(
                        "{at}: no sample in BUILT_AT_RUN_TIME for a part of this statement: {}",
                        sql.replace(UNRESOLVED, "«?»")
                    ));
                } else if starts_statement(&sql) {
                    statements.entry(sql).or_default().push(at.clone());
                }
            }
            continue;
        }
        for v in &f.variants {
            if starts_statement(v) {
                statements.entry(v.clone()).or_default().push(at.clone());
            }
        }
    }
    for sql in opaque {
        problems.push(format!(
            "{sql}\n    SQL inside a macro the scan does not read: pass it to sqlx from a literal \
             or a format!"
        ));
    }
    for (i, used) in listed_used.iter().enumerate() {
        if !used {
            let b = &BUILT_AT_RUN_TIME[i];
            problems.push(format!(
                "BUILT_AT_RUN_TIME lists {} `{}` ({}), which matches no statement any more",
                b.file, b.piece, b.reason
            ));
        }
    }
    (statements, problems)
}

/// PRAGMAs are SQLite's own: the product runs them only there.
fn runs_on_postgres(sql: &str) -> bool {
    !sql.trim_start().starts_with("PRAGMA")
}

/// The highest `$n` of a statement.
fn parameters(sql: &str) -> usize {
    sql.split('$')
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .max()
        .unwrap_or(0)
}

/// Prepares `sql` on PostgreSQL. Prepared without values, a parameter PostgreSQL cannot place
/// (`CASE WHEN … THEN $1`) is taken for text where the product binds a number: then each
/// parameter is tried as text or as a number (what the product binds), and the statement passes
/// if one combination prepares. Only for errors of that kind and a few parameters; a missing
/// column or table fails at once.
async fn prepare_on_postgres(conn: &mut sqlx::PgConnection, sql: &str) -> Result<(), String> {
    use sqlx::postgres::PgTypeInfo;
    use sqlx::Executor;
    let untyped = match (&mut *conn).prepare(sql).await {
        Ok(_) => return Ok(()),
        Err(e) => e,
    };
    let code = untyped
        .as_database_error()
        .and_then(|d| d.code().map(|c| c.into_owned()));
    // datatype_mismatch, indeterminate_datatype, undefined_function (an operator on text).
    let about_types = matches!(code.as_deref(), Some("42804" | "42P18" | "42883"));
    let n = parameters(sql);
    if !about_types || n == 0 || n > 8 {
        return Err(untyped.to_string());
    }
    for combination in 0..(1u32 << n) {
        let types: Vec<PgTypeInfo> = (0..n)
            .map(|i| {
                PgTypeInfo::with_name(if combination & (1 << i) == 0 {
                    "text"
                } else {
                    "int8"
                })
            })
            .collect();
        if (&mut *conn).prepare_with(sql, &types).await.is_ok() {
            return Ok(());
        }
    }
    Err(format!("{untyped} (nor with text or number parameters)"))
}

#[tokio::test]
async fn every_sql_statement_of_the_product_prepares_on_both_databases() {
    use sqlx::{Connection, Executor};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let (statements, mut problems) = scan(&product_sources(root));

    assert!(
        statements.len() >= 100,
        "only {} statements found: the scan lost its way ({:?})",
        statements.len(),
        statements.keys().take(5).collect::<Vec<_>>()
    );

    let sqlite_url = crate::support::fresh_database("sqlite").await;
    let postgres_url = crate::support::fresh_database("postgres").await;
    // Migrated as the product migrates at start-up.
    let sqlite_pool = app::db::connect(&sqlite_url, 1).await.unwrap();
    let postgres_pool = app::db::connect(&postgres_url, 1).await.unwrap();
    let mut sqlite = sqlx::SqliteConnection::connect(&sqlite_url).await.unwrap();
    let mut postgres = sqlx::PgConnection::connect(&postgres_url).await.unwrap();
    for (sql, at) in &statements {
        let mut failed = Vec::new();
        if let Err(e) = (&mut sqlite).prepare(sql.as_str()).await {
            failed.push(format!("SQLite: {e}"));
        }
        if runs_on_postgres(sql) {
            if let Err(e) = prepare_on_postgres(&mut postgres, sql).await {
                failed.push(format!("PostgreSQL: {e}"));
            }
        }
        if !failed.is_empty() {
            problems.push(format!(
                "{}: {}\n    {}",
                at.join(", "),
                failed.join("; "),
                sql.split_whitespace().collect::<Vec<_>>().join(" ")
            ));
        }
    }
    eprintln!("{} statements prepared on both databases", statements.len());
    sqlite.close().await.unwrap();
    postgres.close().await.unwrap();
    sqlite_pool.close().await;
    postgres_pool.close().await;
    assert!(
        problems.is_empty(),
        "{} problem(s) with the product's SQL:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The scan itself, on a source written for it: each way the product builds SQL is followed to
/// the statements it makes, and what cannot be followed is reported, never dropped.
#[test]
fn the_scan_follows_each_way_sql_is_built_and_reports_what_it_cannot() {
    let source = r#"
        const COLUMNS: &str = "SELECT id, name FROM things";
        const GONE: &str = "DELETE FROM things WHERE id = $1";
        async fn by_id(db: &Db) {
            sqlx::query_as(&format!("{COLUMNS} WHERE id = $1"));
            sqlx::query(GONE);
        }
        async fn by_ids(db: &Db, ids: &[String]) {
            let sql = format!(
                "UPDATE things SET seen = 1 WHERE id IN ({})",
                crate::db::placeholders(1, ids.len())
            );
            sqlx::query(&sql);
        }
        async fn upsert(ex: E, on_conflict: &str) {
            sqlx::query(&format!("INSERT INTO things (id) VALUES ($1) ON CONFLICT (id) DO {on_conflict}"));
        }
        async fn both(ex: E) {
            upsert(ex, "NOTHING").await;
            upsert(ex, "UPDATE SET name = excluded.name").await;
        }
        async fn maybe(only: Option<&str>) {
            let extra = if only.is_some() { " AND name = $2" } else { "" };
            sqlx::query(&format!("SELECT id FROM things WHERE id = $1{extra}"));
        }
        fn insert_sql(rows: usize) -> String {
            format!("INSERT INTO things (id, name) VALUES {}", crate::db::value_rows(rows, 2))
        }
        async fn filtered(filter: &Filter) {
            let (conditions, values) = build(filter);
            sqlx::query(&format!("SELECT id FROM things WHERE {conditions}"));
        }
        const FIELDS: [&str; 2] = ["id", "name"];
        const CONCAT: &str = concat!("SELECT id ", "FROM things");
        async fn joined() {
            sqlx::query(&format!("SELECT {} FROM things", FIELDS.join(", ")));
            sqlx::query(CONCAT);
        }
        async fn hidden() {
            tracing::info!("UPDATE things SET name = 'x' WHERE id = 1");
        }
        #[cfg(test)]
        mod tests {
            fn only_in_tests() {
                sqlx::query("SELECT nothing FROM nowhere");
            }
        }
    "#;
    let (statements, problems) = scan(&[("app/src/things.rs".into(), source.into())]);
    let found: Vec<&str> = statements.keys().map(String::as_str).collect();
    assert_eq!(
        found,
        [
            "DELETE FROM things WHERE id = $1",
            "INSERT INTO things (id) VALUES ($1) ON CONFLICT (id) DO NOTHING",
            "INSERT INTO things (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            "INSERT INTO things (id, name) VALUES ($1, $2), ($3, $4)",
            "SELECT id FROM things",
            "SELECT id FROM things WHERE id = $1",
            "SELECT id FROM things WHERE id = $1 AND name = $2",
            "SELECT id, name FROM things",
            "SELECT id, name FROM things WHERE id = $1",
            "UPDATE things SET seen = 1 WHERE id IN ($1, $2)",
        ]
    );
    // The real product's list of run-time statements does not apply to this source.
    let problems: Vec<&String> = problems
        .iter()
        .filter(|p| !p.starts_with("BUILT_AT_RUN_TIME lists"))
        .collect();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].starts_with("app/src/things.rs:31: the scan cannot resolve"),
        "{}",
        problems[0]
    );
    assert!(
        problems[1].starts_with("app/src/things.rs:40: UPDATE things")
            && problems[1].contains("SQL inside a macro"),
        "{}",
        problems[1]
    );
}
