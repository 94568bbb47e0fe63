//! The web UI's page, script and style, embedded in the binary so the UI and
//! the HTML report work with no network.

pub const INDEX_HTML: &str = include_str!("assets/index.html");
pub const APP_JS: &str = include_str!("assets/app.js");
pub const STYLE_CSS: &str = include_str!("assets/style.css");
