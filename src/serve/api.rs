//! Routing: a request's path and query to a page asset or a JSON answer of
//! `HeapQueries`, and every bad request to a clear HTTP error.

use serde_json::{Value, json};

use super::assets;
use super::queries::{HeapQueries, MAX_PATHS, NodeRef, QueryError};

/// The longest request target accepted (a path and its query).
pub const MAX_TARGET: usize = 8192;
/// Children per page when a request does not say.
const DEFAULT_PAGE: usize = 100;

/// An answer, ready to send.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Reply {
    fn json(status: u16, value: &Value) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }

    pub fn error(status: u16, message: &str) -> Reply {
        Reply::json(status, &json!({ "error": message, "status": status }))
    }

    fn asset(content_type: &'static str, text: &'static str) -> Reply {
        Reply {
            status: 200,
            content_type,
            body: text.as_bytes().to_vec(),
        }
    }
}

impl From<QueryError> for Reply {
    fn from(e: QueryError) -> Reply {
        match e {
            QueryError::NotFound(m) => Reply::error(404, &m),
            QueryError::BadRequest(m) => Reply::error(400, &m),
        }
    }
}

/// Answers one GET request for `target` (path and query, as sent).
pub fn handle(queries: &dyn HeapQueries, target: &str) -> Reply {
    if target.len() > MAX_TARGET {
        return Reply::error(
            414,
            &format!("request target longer than {MAX_TARGET} bytes"),
        );
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params = match parse_query(query) {
        Ok(p) => p,
        Err(m) => return Reply::error(400, &m),
    };
    match answer(queries, path, &Params(params)) {
        Ok(reply) => reply,
        Err(e) => e.into(),
    }
}

fn answer(q: &dyn HeapQueries, path: &str, p: &Params) -> Result<Reply, QueryError> {
    let ok = |v: Value| Ok(Reply::json(200, &v));
    match path {
        "/" | "/index.html" => Ok(Reply::asset("text/html; charset=utf-8", assets::INDEX_HTML)),
        "/app.js" => Ok(Reply::asset(
            "text/javascript; charset=utf-8",
            assets::APP_JS,
        )),
        "/style.css" => Ok(Reply::asset("text/css; charset=utf-8", assets::STYLE_CSS)),
        "/api/overview" => ok(q.overview()),
        "/api/types" => ok(q.types()),
        "/api/goroutines" => ok(q.goroutines()),
        "/api/sites" => ok(q.sites()),
        "/api/tree/node" => ok(q.tree_node(p.node()?)?),
        "/api/tree/children" => {
            let offset = p.number("offset")?.unwrap_or(0);
            let limit = p.number("limit")?.unwrap_or(DEFAULT_PAGE);
            ok(q.tree_children(p.node()?, offset, limit)?)
        }
        "/api/object" => {
            let addr = p.address("addr")?.ok_or_else(|| missing("addr"))?;
            let paths = p.number("paths")?.unwrap_or(3);
            if paths > MAX_PATHS {
                return Err(QueryError::BadRequest(format!(
                    "paths must be 1 to {MAX_PATHS} (got {paths})"
                )));
            }
            let exclude: Vec<String> = p.all("exclude").filter(|e| !e.is_empty()).collect();
            ok(q.object(addr, &exclude, paths)?)
        }
        _ => Err(QueryError::NotFound(format!("no page or API at {path}"))),
    }
}

fn missing(name: &str) -> QueryError {
    QueryError::BadRequest(format!("missing query parameter '{name}'"))
}

/// Decoded query parameters, in order (a name may repeat: `exclude`).
struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = String> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn number(&self, name: &str) -> Result<Option<usize>, QueryError> {
        self.get(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    QueryError::BadRequest(format!("'{name}' must be a whole number, not '{v}'"))
                })
            })
            .transpose()
    }

    fn address(&self, name: &str) -> Result<Option<u64>, QueryError> {
        self.get(name)
            .map(|v| {
                parse_address(v).ok_or_else(|| {
                    QueryError::BadRequest(format!(
                        "'{name}' must be an address like 0xc000123450, not '{v}'"
                    ))
                })
            })
            .transpose()
    }

    /// `node=N` (a dominator-tree node) or `addr=0x…` (the object holding it).
    fn node(&self) -> Result<NodeRef, QueryError> {
        if let Some(a) = self.address("addr")? {
            return Ok(NodeRef::Address(a));
        }
        let n = self.get("node").ok_or_else(|| missing("node (or addr)"))?;
        n.parse()
            .map(NodeRef::Node)
            .map_err(|_| QueryError::BadRequest(format!("'node' must be a node number, not '{n}'")))
    }
}

pub fn parse_address(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn parse_query(query: &str) -> Result<Vec<(String, String)>, String> {
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            Ok((percent_decode(k)?, percent_decode(v)?))
        })
        .collect()
}

/// `%XX` and `+` decoded; a malformed escape or non-UTF-8 text is an error.
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("malformed query: bad escape in '{text}'"))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| format!("malformed query: '{text}' is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nothing;
    impl HeapQueries for Nothing {
        fn overview(&self) -> Value {
            json!({})
        }
        fn tree_node(&self, _: NodeRef) -> Result<Value, QueryError> {
            Err(QueryError::NotFound("none".into()))
        }
        fn tree_children(&self, _: NodeRef, _: usize, _: usize) -> Result<Value, QueryError> {
            Ok(json!({}))
        }
        fn object(&self, _: u64, _: &[String], _: usize) -> Result<Value, QueryError> {
            Ok(json!({}))
        }
        fn types(&self) -> Value {
            json!({})
        }
        fn goroutines(&self) -> Value {
            json!({})
        }
        fn sites(&self) -> Value {
            json!({})
        }
    }

    #[test]
    fn bad_requests_get_clear_errors() {
        let status = |t: &str| handle(&Nothing, t).status;
        assert_eq!(status("/nowhere"), 404);
        assert_eq!(status("/api/tree/node?node=7"), 404);
        assert_eq!(status("/api/tree/node"), 400);
        assert_eq!(status("/api/tree/node?node=x"), 400);
        assert_eq!(status("/api/object?addr=0xzz"), 400);
        assert_eq!(status("/api/object"), 400);
        assert_eq!(status("/api/object?addr=0x10&paths=1000"), 400);
        assert_eq!(status("/api/tree/children?node=0&limit=-1"), 400);
        assert_eq!(status("/api/object?addr=%zz"), 400);
        assert_eq!(
            status(&format!("/api/overview?{}", "a".repeat(MAX_TARGET))),
            414
        );
        assert_eq!(status("/api/overview"), 200);
    }

    #[test]
    fn queries_decode_escapes_and_repeats() {
        let p = parse_query("exclude=main.T%2Enext&exclude=a+b&x").expect("parses");
        assert_eq!(
            p,
            vec![
                ("exclude".into(), "main.T.next".into()),
                ("exclude".into(), "a b".into()),
                ("x".into(), String::new())
            ]
        );
    }
}
