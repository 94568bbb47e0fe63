//! The web UI and the HTML report end to end: a real headless Chromium (through
//! chromedriver) loads them on a fixture, and what the pages show is checked
//! against the program's truth.json; a screenshot of each page is kept in
//! target/test-artifacts/. The server's bad-request handling needs no browser.

mod common;
#[path = "web/driver.rs"]
mod driver;

use std::ffi::OsStr;
use std::io::Write;

use common::Fixture;
use driver::{Browser, Server};

const FIXTURE: &str = "go1.25";

fn dump_args(f: &Fixture) -> Vec<std::ffi::OsString> {
    vec![
        f.core().into_os_string(),
        "--exe".into(),
        f.exe().into_os_string(),
    ]
}

fn start_server(f: &Fixture) -> Server {
    let args = dump_args(f);
    let args: Vec<&OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    Server::start(&args)
}

fn structure<'a>(f: &'a Fixture, id: &str) -> &'a serde_json::Value {
    f.truth["structures"]
        .as_array()
        .expect("structures")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("truth has no structure {id}"))
}

fn recorded_object<'a>(f: &'a Fixture, id: &str) -> &'a serde_json::Value {
    f.truth["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["id"] == id)
        .unwrap_or_else(|| panic!("truth has no object {id}"))
}

fn skip_reason() -> Option<String> {
    let reason = driver::missing_browser()?;
    // Straight to stderr: the test harness captures eprintln! of passing tests.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: browser tests need Chromium and chromedriver: {reason}"
    );
    Some(reason)
}

#[test]
fn server_answers_bad_requests_with_errors_and_keeps_serving() {
    let f = Fixture::load(FIXTURE);
    let server = start_server(&f);
    let (status, body) = server.get("/api/tree/children?node=0&limit=1000000");
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("limit")));
    let (status, body) = server.get("/api/object?addr=0x10");
    assert_eq!(status, 404, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("0x10")));
    assert_eq!(server.get("/api/object?addr=nonsense").0, 400);
    assert_eq!(server.get("/api/tree/node?node=4294967295").0, 404);
    assert_eq!(server.get("/api/object?addr=0xc0&exclude=%E0%A4%A").0, 400);
    assert_eq!(server.get("/api/nothing-here").0, 404);
    let long = format!("/api/overview?x={}", "a".repeat(20_000));
    assert!(
        matches!(server.get(&long).0, 400 | 414),
        "an over-long target is refused"
    );
    let (status, _) = driver::http(server.port, "POST", "/api/overview", None);
    assert_eq!(status, 405);
    // Still serving, with the truth's figures.
    let (status, body) = server.get("/api/overview");
    assert_eq!(status, 200);
    assert_eq!(
        body["overview"]["go"]["version"].as_str(),
        Some(f.truth_str("go_version"))
    );
    // A recorded structure's root retains exactly its objects.
    let s = structure(&f, "list20000");
    let name = s["root"]["name"].as_str().expect("root name");
    let (_, kids) = server.get("/api/tree/children?node=0&offset=0&limit=1000");
    let node = kids["children"]
        .as_array()
        .expect("children")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not a child of the top"));
    assert_eq!(
        node["retained_bytes"].as_u64(),
        Some(common::structure_bytes(&f, s))
    );
}

#[test]
fn ui_pages_show_the_truth_in_a_real_browser() {
    if skip_reason().is_some() {
        return;
    }
    let f = Fixture::load(FIXTURE);
    let server = start_server(&f);
    let browser = Browser::start();

    // Overview: the process's own figures.
    browser.goto(&format!("{}#/overview", server.url));
    assert_eq!(browser.settle("overview"), "ready");
    assert_eq!(browser.text("#go-version"), f.truth_str("go_version"));
    assert_eq!(
        browser.attribute("#pid", "data-value"),
        f.truth["pid"].to_string()
    );
    let threads = f.truth["tids"].as_array().expect("tids").len();
    assert_eq!(
        browser.attribute("#threads", "data-value"),
        threads.to_string()
    );
    browser.screenshot("ui-overview");

    // Dominator tree: click from the top into a recorded structure's root,
    // then into the array it holds; both retain exactly the structure.
    let s = structure(&f, "ptrs8192");
    let name = s["root"]["name"].as_str().expect("root name");
    let want = common::structure_bytes(&f, s);
    browser.show("#/tree/0");
    assert_eq!(browser.settle("tree"), "ready");
    browser.screenshot("ui-dominator-top");
    browser.click(&format!(
        "#icicle g.cell[data-depth='1'][data-name='{name}']"
    ));
    browser.wait_for(
        "the structure's root",
        &format!("return document.getElementById('node-name')?.textContent === '{name}'"),
    );
    assert_eq!(browser.settle("tree"), "ready");
    assert_eq!(
        browser.attribute("#node-retained", "data-bytes"),
        want.to_string()
    );
    browser.click("#icicle g.cell[data-depth='1']");
    browser.wait_for(
        "the array",
        "const n = document.getElementById('node-name'); \
         return n && n.textContent.startsWith('[8192]*main.T')",
    );
    assert_eq!(browser.settle("tree"), "ready");
    assert_eq!(
        browser.attribute("#node-retained", "data-bytes"),
        want.to_string()
    );
    let owners = browser.text("#owners");
    assert!(owners.contains(name), "the owners name the root: {owners}");
    browser.screenshot("ui-dominator-tree");

    // An object: its first path leads from the recorded root through the
    // recorded fields; following it back reaches that root.
    let o = recorded_object(&f, "glist_val1");
    let addr = o["addr"].as_str().expect("addr");
    let root = o["root"]["name"].as_str().expect("root name");
    let want_edges: String = o["path"]
        .as_array()
        .expect("path")
        .iter()
        .map(|e| e.as_str().expect("edge"))
        .collect();
    browser.show(&format!("#/object/{addr}"));
    assert_eq!(browser.settle("object"), "ready");
    let first = ".why-path[data-index='0']";
    assert_eq!(
        browser.attribute(&format!("{first} li.path-root"), "data-name"),
        root
    );
    let edges = browser.eval(&format!(
        "return [...document.querySelectorAll(\"{first} li.step\")].map(s => s.dataset.edge).join('')"
    ));
    assert_eq!(edges.as_str(), Some(want_edges.as_str()));
    let last = browser.eval(&format!(
        "const s = document.querySelectorAll(\"{first} li.step\"); return s[s.length - 1].dataset.address"
    ));
    assert_eq!(last.as_str(), Some(addr));
    browser.screenshot("ui-object");
    browser.click(&format!("{first} li.path-root a"));
    browser.wait_for(
        "the root's node",
        &format!("return document.getElementById('node-name')?.textContent === '{root}'"),
    );

    // Goroutines: the 16 leaked workers the program started form one group.
    let workers = f.truth["goroutines"]
        .as_array()
        .expect("goroutines")
        .iter()
        .filter(|g| g["function"] == "main.leakWorker")
        .count();
    browser.show("#/goroutines");
    assert_eq!(browser.settle("goroutines"), "ready");
    let count = browser.eval(
        "const row = [...document.querySelectorAll('tr.group')].find(r => \
         r.children[2].textContent.startsWith('main.leakWorker')); \
         return row ? Number(row.children[0].textContent) : null",
    );
    assert_eq!(count.as_u64(), Some(workers as u64));
    browser.screenshot("ui-goroutines");

    // Types, sorted by retained bytes; sites.
    browser.show("#/types");
    assert_eq!(browser.settle("types"), "ready");
    let sorted = browser.eval(
        "const v = [...document.querySelectorAll('#types tbody tr')].map(r => \
         Number(r.children[5].dataset.bytes)); return v.length > 1 && v.every((x, i) => i === 0 || v[i-1] >= x)",
    );
    assert_eq!(sorted, serde_json::json!(true));
    browser.screenshot("ui-types");
    browser.show("#/sites");
    assert_eq!(browser.settle("sites"), "ready");
    let site = f.truth["sites"][0]["function"].as_str().expect("site");
    let listed = browser.eval(&format!(
        "return [...document.querySelectorAll('tr.site')].some(r => r.textContent.includes('{site}'))"
    ));
    assert_eq!(listed, serde_json::json!(true), "{site} listed");
    browser.screenshot("ui-sites");

    // A bad address gets a clear error on the page, and the server goes on.
    browser.show("#/object/0x10");
    assert_eq!(browser.settle("object"), "error");
    assert!(browser.text("#error").contains("0x10"));
    assert_eq!(server.get("/api/overview").0, 200);
}

#[test]
fn html_report_renders_from_a_file_without_network() {
    if skip_reason().is_some() {
        return;
    }
    let f = Fixture::load(FIXTURE);
    let dir = tempfile::tempdir().expect("tempdir");
    let html = dir.path().join("report.html");
    let mut args = dump_args(&f);
    args.extend([
        "-q".into(),
        "report".into(),
        "--html".into(),
        html.clone().into(),
    ]);
    let args: Vec<&OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let out = common::rootpath(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let browser = Browser::start();
    let url = format!("file://{}", html.display());
    browser.goto(&format!("{url}#/overview"));
    assert_eq!(browser.settle("overview"), "ready");
    assert_eq!(browser.text("#go-version"), f.truth_str("go_version"));
    browser.screenshot("report-overview");

    // The same dominator picture, and a recorded structure clicked into.
    let s = structure(&f, "ptrs8192");
    let name = s["root"]["name"].as_str().expect("root name");
    browser.show("#/tree/0");
    assert_eq!(browser.settle("tree"), "ready");
    let cells = browser.eval("return document.querySelectorAll('#icicle g.cell').length");
    assert!(
        cells.as_u64().is_some_and(|n| n > 10),
        "icicle cells: {cells}"
    );
    browser.click(&format!(
        "#icicle g.cell[data-depth='1'][data-name='{name}']"
    ));
    browser.wait_for(
        "the structure's root",
        &format!("return document.getElementById('node-name')?.textContent === '{name}'"),
    );
    assert_eq!(
        browser.attribute("#node-retained", "data-bytes"),
        common::structure_bytes(&f, s).to_string()
    );
    browser.screenshot("report-dominator-tree");
    for page in ["types", "goroutines", "sites"] {
        browser.show(&format!("#/{page}"));
        assert_eq!(browser.settle(page), "ready", "{page}");
    }
    // Nothing was fetched: no resource the page asked for, of any kind.
    let requests = browser.eval("return performance.getEntriesByType('resource').map(e => e.name)");
    assert_eq!(requests, serde_json::json!([]), "the report made requests");
}
