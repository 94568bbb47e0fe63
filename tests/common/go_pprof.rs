//! Running the Go toolchain's `go tool pprof` on profiles rootpath writes: where the
//! toolchain is, and a page of its web UI.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Go toolchain to run `go tool pprof` with: $ROOTPATH_GO, else the
/// one testdata/generate.sh installs (CI installs it too).
pub fn go_tool() -> Option<PathBuf> {
    if let Some(go) = std::env::var_os("ROOTPATH_GO") {
        return Some(PathBuf::from(go));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let cache = std::env::var_os("ROOTPATH_GO_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".cache/rootpath-go"));
    let go = cache.join("go1.25.5/go/bin/go");
    go.exists().then_some(go)
}

/// `go_tool`, or None after printing why `test` is skipped; CI installs the toolchain
/// (.ci/run), so there its absence fails the test.
pub fn go_tool_or_skip(test: &str) -> Option<PathBuf> {
    let go = go_tool();
    if go.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must install a Go toolchain for this test (ROOTPATH_GO)"
        );
        eprintln!(
            "SKIPPED {test}: no Go toolchain (set ROOTPATH_GO, or install \
             go1.25.5 as testdata/generate.sh does)"
        );
    }
    go
}

/// A page of `go tool pprof -http` on a loopback port, fetched once it
/// serves (bounded: a minute at most), the server stopped after.
pub fn go_pprof_web(go: &Path, profile: &Path, page: &str) -> String {
    use std::io::{Read, Write};
    use std::os::unix::process::CommandExt;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut server = Command::new(go)
        .args(["tool", "pprof", "-no_browser"])
        .arg(format!("-http=127.0.0.1:{port}"))
        .arg(profile)
        .env("GOTOOLCHAIN", "local")
        .env_remove("GOROOT")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        // Its own process group: `go` runs pprof as a child; both are stopped.
        .process_group(0)
        .spawn()
        .expect("start go tool pprof -http");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let fetched = loop {
        let attempt = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut c| {
            write!(c, "GET {page} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
            let mut body = String::new();
            c.read_to_string(&mut body)?;
            Ok(body)
        });
        match attempt {
            Ok(body) => break Some(body),
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(250))
            }
            Err(_) => break None,
        }
    };
    let _ = Command::new("kill")
        .arg("--")
        .arg(format!("-{}", server.id()))
        .status();
    let _ = server.wait();
    fetched.expect("go tool pprof -http did not serve within a minute")
}
