//! Go versions: parsing `go1.N.P` strings and the matrix rootpath is tested on.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

/// How well rootpath knows a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Support {
    /// In the tested matrix, backed by fixtures.
    Tested,
    /// Between tested versions or just past them: answers are marked partial.
    Untested,
    /// Too old: runtime structures differ fundamentally.
    Unsupported,
}

/// Minor versions of Go 1 with fixtures (1.20 is not in the matrix). The one list of
/// supported versions: messages, tables and tests derive from it (NEW_GO_VERSION.md).
pub const TESTED_MINORS: &[u32] = &[19, 21, 22, 23, 24, 25, 26, 27];

/// The tested matrix as messages name it: "Go 1.19, 1.21–1.27" (runs of minors collapsed).
pub fn tested_matrix() -> String {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &minor in TESTED_MINORS {
        match runs.last_mut() {
            Some((_, last)) if *last + 1 == minor => *last = minor,
            _ => runs.push((minor, minor)),
        }
    }
    let parts: Vec<String> = runs
        .iter()
        .map(|&(first, last)| {
            if first == last {
                format!("1.{first}")
            } else {
                format!("1.{first}–1.{last}")
            }
        })
        .collect();
    format!("Go {}", parts.join(", "))
}

impl GoVersion {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        GoVersion {
            major,
            minor,
            patch,
        }
    }

    /// Parses "go1.25.5", "go1.21rc2", "go1.22.10 X:nocoverageredesign", "devel go1.27-abc".
    pub fn parse(text: &str) -> Option<GoVersion> {
        let start = text.find("go1")?;
        let rest = &text[start + 2..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let mut parts = rest[..end].split('.').filter(|p| !p.is_empty());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().map_or(Some(0), |p| p.parse().ok())?;
        let patch = parts.next().map_or(Some(0), |p| p.parse().ok())?;
        Some(GoVersion::new(major, minor, patch))
    }

    pub fn at_least(&self, minor: u32) -> bool {
        (self.major, self.minor) >= (1, minor)
    }

    pub fn support(&self) -> Support {
        if self.major != 1 || self.minor < 19 {
            Support::Unsupported
        } else if TESTED_MINORS.contains(&self.minor) {
            Support::Tested
        } else {
            Support::Untested
        }
    }
}

impl fmt::Display for GoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "go{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_is_named_from_its_list() {
        assert_eq!(tested_matrix(), "Go 1.19, 1.21–1.27");
    }

    #[test]
    fn parses_release_and_dev_strings() {
        assert_eq!(GoVersion::parse("go1.25.5"), Some(GoVersion::new(1, 25, 5)));
        assert_eq!(
            GoVersion::parse("go1.21rc2"),
            Some(GoVersion::new(1, 21, 0))
        );
        assert_eq!(
            GoVersion::parse("go1.22.10 X:nocoverageredesign"),
            Some(GoVersion::new(1, 22, 10))
        );
        assert_eq!(
            GoVersion::parse("devel go1.27-abcdef"),
            Some(GoVersion::new(1, 27, 0))
        );
        assert_eq!(GoVersion::parse("go2"), None);
        assert_eq!(GoVersion::parse(""), None);
    }

    #[test]
    fn matrix() {
        assert_eq!(GoVersion::new(1, 19, 8).support(), Support::Tested);
        assert_eq!(GoVersion::new(1, 20, 1).support(), Support::Untested);
        assert_eq!(GoVersion::new(1, 28, 0).support(), Support::Untested);
        assert_eq!(GoVersion::new(1, 18, 0).support(), Support::Unsupported);
        assert!(GoVersion::new(1, 22, 0).at_least(22));
        assert!(!GoVersion::new(1, 21, 13).at_least(22));
    }
}
