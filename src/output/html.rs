//! The HTML report: the web UI's page with its style, script and the API
//! answers it reads inlined, so it opens from a file with no requests at all.

use std::io::{self, Write};

use crate::serve::assets::{APP_JS, INDEX_HTML, STYLE_CSS};

/// Where the page links its style and script; the report inlines them there.
const STYLE_LINK: &str = r#"<link rel="stylesheet" href="style.css">"#;
const SCRIPT_LINK: &str = r#"<script src="app.js"></script>"#;

/// Writes the page with `responses` (API target → answer) embedded: the
/// script reads them instead of asking a server.
pub fn report(out: &mut dyn Write, responses: &[(String, serde_json::Value)]) -> io::Result<()> {
    let data: serde_json::Map<String, serde_json::Value> = responses.iter().cloned().collect();
    let json = serde_json::to_string(&data).map_err(io::Error::other)?;
    // No "</script>" or "<!--" may appear inside a script element: every '<'
    // in the data is written as its JSON escape.
    let json = json.replace('<', "\\u003c");
    let script = APP_JS.replace("</script", "<\\/script");
    let (head, rest) = INDEX_HTML
        .split_once(STYLE_LINK)
        .ok_or_else(|| io::Error::other("page template lacks its style link"))?;
    let (middle, tail) = rest
        .split_once(SCRIPT_LINK)
        .ok_or_else(|| io::Error::other("page template lacks its script link"))?;
    write!(out, "{head}<style>\n{STYLE_CSS}</style>{middle}")?;
    write!(
        out,
        "<script>window.ROOTPATH_REPORT = {json};</script>\n<script>\n{script}</script>{tail}"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_report_inlines_everything_and_escapes_its_data() {
        let mut out = Vec::new();
        let responses = vec![(
            "/api/overview".to_string(),
            serde_json::json!({"name": "</script><script>alert(1)</script>"}),
        )];
        super::report(&mut out, &responses).expect("renders");
        let page = String::from_utf8(out).expect("utf-8");
        assert!(!page.contains("alert(1)</script>"));
        assert!(!page.contains("src=\"app.js\""));
        assert!(!page.contains("href=\"style.css\""));
        assert!(page.contains("ROOTPATH_REPORT"));
    }
}
