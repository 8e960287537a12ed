//! The site's static files (the browser bundle, the style sheet, `public/`): compressed once at
//! build time (`server precompress`, which `scripts/lib.sh` runs after `cargo leptos build`),
//! served in the encoding the browser asks for without compressing per request, and cached
//! by name: a hashed file name never changes content, so it is cached for a year; everything
//! else is asked again.

use axum::{
    body::Body,
    extract::Request,
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// What is worth compressing: text and the wasm. Images are compressed already.
const COMPRESSIBLE: &[&str] = &["js", "wasm", "css", "svg", "html", "txt", "json", "ico"];

/// What one `precompress` run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Precompressed {
    /// Files written (each file's `.br` and `.gz` count as one).
    pub written: usize,
    /// Files whose compressed copies were newer than they: left alone.
    pub current: usize,
    /// Bytes of the originals written, and of their brotli and gzip copies.
    pub original_bytes: u64,
    pub brotli_bytes: u64,
    pub gzip_bytes: u64,
}

/// Writes `<file>.br` (brotli, quality 11) and `<file>.gz` (gzip, level 9) beside every
/// compressible file under `root`, unless both are newer than the file already.
pub fn precompress(root: &Path) -> io::Result<Precompressed> {
    let mut report = Precompressed::default();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if compressible(&path) {
                compress_one(&path, &mut report)?;
            }
        }
    }
    Ok(report)
}

fn compressible(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| COMPRESSIBLE.contains(&e))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn compress_one(path: &Path, report: &mut Precompressed) -> io::Result<()> {
    let (br, gz) = (with_suffix(path, ".br"), with_suffix(path, ".gz"));
    let modified = std::fs::metadata(path)?.modified()?;
    let newer = |copy: &Path| {
        std::fs::metadata(copy)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= modified)
    };
    if newer(&br) && newer(&gz) {
        report.current += 1;
        return Ok(());
    }
    let data = std::fs::read(path)?;
    let mut brotli_out = Vec::with_capacity(data.len() / 3);
    {
        let params = brotli::enc::BrotliEncoderParams {
            quality: 11,
            lgwin: 22,
            ..Default::default()
        };
        brotli::BrotliCompress(&mut data.as_slice(), &mut brotli_out, &params)?;
    }
    let mut gzip = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 3),
        flate2::Compression::best(),
    );
    gzip.write_all(&data)?;
    let gzip_out = gzip.finish()?;
    // Written whole then renamed: a server reading meanwhile never serves half a file.
    for (target, bytes) in [(&br, &brotli_out), (&gz, &gzip_out)] {
        let partial = with_suffix(target, ".partial");
        std::fs::write(&partial, bytes)?;
        std::fs::rename(&partial, target)?;
    }
    report.written += 1;
    report.original_bytes += data.len() as u64;
    report.brotli_bytes += brotli_out.len() as u64;
    report.gzip_bytes += gzip_out.len() as u64;
    Ok(())
}

/// A year: what a file whose name carries its content's hash may be kept for.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Asked again each time (answered 304 when unchanged): pages and unhashed files.
const REVALIDATE: &str = "no-cache";
/// `public/` scripts other sites embed (`widget.js`): a few minutes, so a fix reaches them soon.
const SHORT: &str = "public, max-age=300";

/// Whether a `/pkg/` file name carries cargo-leptos's content hash: `giveaway.<hash>.<ext>`.
pub fn hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() >= 3
        && parts[1].len() >= 8
        && parts[1]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The caching a response gets by its address and type, unless its handler chose one.
pub fn cache_policy(path: &str, content_type: Option<&str>) -> &'static str {
    if path.starts_with("/pkg/") {
        if hashed(path) {
            IMMUTABLE
        } else {
            REVALIDATE
        }
    } else if content_type.is_some_and(|t| t.starts_with("text/html")) {
        REVALIDATE
    } else if path.ends_with(".js") {
        SHORT
    } else {
        REVALIDATE
    }
}

/// Sets `Cache-Control` where the handler did not, and `Vary: Accept-Encoding` on static files
/// (served in the encoding asked for). Applied to every response of the site.
pub async fn cache_headers(request: Request<Body>, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        let kind = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_policy(&path, kind)),
        );
    }
    if path.rsplit('/').next().is_some_and(|name| {
        Path::new(name)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| COMPRESSIBLE.contains(&e))
    }) && !headers.contains_key(header::VARY)
    {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_are_kept_a_year_and_the_rest_asked_again() {
        assert!(hashed("/pkg/giveaway.Xa9_bc-DEf01.wasm"));
        assert!(!hashed("/pkg/giveaway.wasm"));
        assert!(!hashed("/pkg/giveaway_bg.wasm"));
        assert_eq!(
            cache_policy("/pkg/giveaway.Xa9_bc-DEf01.js", None),
            IMMUTABLE
        );
        assert_eq!(cache_policy("/pkg/giveaway.css", None), REVALIDATE);
        assert_eq!(
            cache_policy("/admin", Some("text/html; charset=utf-8")),
            REVALIDATE
        );
        assert_eq!(cache_policy("/widget.js", Some("text/javascript")), SHORT);
    }

    #[test]
    fn precompressing_writes_both_encodings_once() {
        let dir = std::env::temp_dir().join(format!("precompress-{}", std::process::id()));
        let pkg = dir.join("pkg");
        std::fs::create_dir_all(&pkg).unwrap();
        let text = "let x = 1;\n".repeat(2000);
        std::fs::write(pkg.join("app.js"), &text).unwrap();
        std::fs::write(dir.join("photo.png"), [0u8; 64]).unwrap();
        let first = precompress(&dir).unwrap();
        assert_eq!((first.written, first.current), (1, 0));
        assert!(first.brotli_bytes < first.original_bytes / 10, "{first:?}");
        assert!(first.gzip_bytes < first.original_bytes / 10, "{first:?}");
        assert!(!dir.join("photo.png.br").exists(), "images are left alone");
        // The copies decode to the original.
        let br = std::fs::read(pkg.join("app.js.br")).unwrap();
        let mut decoded = Vec::new();
        brotli::BrotliDecompress(&mut br.as_slice(), &mut decoded).unwrap();
        assert_eq!(decoded, text.as_bytes());
        let gz = std::fs::read(pkg.join("app.js.gz")).unwrap();
        let mut decoded = String::new();
        io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(gz.as_slice()),
            &mut decoded,
        )
        .unwrap();
        assert_eq!(decoded, text);
        // Nothing changed: nothing written again.
        let second = precompress(&dir).unwrap();
        assert_eq!((second.written, second.current), (0, 1));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
