//! `rootpath DUMP serve`: a local web UI over the heap (HTTP, the JSON API,
//! embedded assets). It listens on loopback unless told otherwise.

pub mod api;
pub mod assets;
mod http;
pub mod model_queries;
pub mod queries;

use std::io::Write;
use std::net::SocketAddr;

use crate::error::{Error, Result};
use queries::HeapQueries;

/// Where to listen and whether to open a browser.
pub struct ServeOptions {
    pub addr: String,
    pub open: bool,
}

/// Listens and answers until the process is stopped; `ready` gets the URL
/// line once the socket is bound. A bad request gets an HTTP error, never
/// ends the server.
pub fn run(queries: &dyn HeapQueries, options: &ServeOptions, ready: &mut dyn Write) -> Result<()> {
    let listen_error = |why: String| Error::Listen {
        addr: options.addr.clone(),
        why,
    };
    let addr: SocketAddr = options
        .addr
        .parse()
        .map_err(|e| listen_error(format!("not an IP:PORT address ({e})")))?;
    let listener = std::net::TcpListener::bind(addr).map_err(|e| listen_error(e.to_string()))?;
    let bound = listener
        .local_addr()
        .map_err(|e| listen_error(e.to_string()))?;
    if !bound.ip().is_loopback() {
        eprintln!(
            "rootpath: warning: serving on {bound}, reachable from other machines; the UI \
             shows the process's memory"
        );
    }
    let url = format!("http://{bound}/");
    writeln!(ready, "Serving the web UI at {url}").map_err(Error::Output)?;
    ready.flush().map_err(Error::Output)?;
    if options.open {
        open_browser(&url);
    }
    let (sender, requests) = std::sync::mpsc::channel();
    std::thread::spawn(move || http::accept(listener, sender));
    let log = std::env::var_os("ROOTPATH_SERVE_LOG").is_some();
    for request in requests {
        let started = std::time::Instant::now();
        let reply = reply_to(queries, &request.method, &request.target);
        if log {
            let target: String = request.target.chars().take(200).collect();
            eprintln!(
                "{} {target} {} {:.1} ms",
                request.method,
                reply.status,
                started.elapsed().as_secs_f64() * 1e3
            );
        }
        request.respond(reply);
    }
    Ok(())
}

fn reply_to(queries: &dyn HeapQueries, method: &str, target: &str) -> api::Reply {
    if method != "GET" && method != "HEAD" {
        return api::Reply::error(405, "only GET requests are served");
    }
    // A defect in one answer must not take the server down with it.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        api::handle(queries, target)
    }))
    .unwrap_or_else(|_| api::Reply::error(500, "internal error answering this request"))
}

/// Opens `url` in the desktop's browser, as `go tool pprof -http` does.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    match std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(_) => {}
        Err(e) => eprintln!("rootpath: could not open a browser ({opener}: {e}); open {url}"),
    }
}
