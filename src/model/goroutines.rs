//! Goroutines as the dump recorded them: state, why they wait, where they
//! are and where they were created.

use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceFrame {
    pub function: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

impl SourceFrame {
    /// "main.worker (worker.go:37)".
    pub fn display(&self) -> String {
        match (&self.file, self.line) {
            (Some(f), Some(l)) => format!("{} ({}:{l})", self.function, short_file(f)),
            _ => self.function.clone(),
        }
    }
}

pub fn short_file(path: &str) -> &str {
    // Keep the last two path elements: enough to recognise, short to read.
    let mut cut = path.len();
    for _ in 0..2 {
        match path[..cut].rfind('/') {
            Some(i) => cut = i,
            None => return path,
        }
    }
    &path[cut + 1..]
}

#[derive(Debug, Clone, Serialize)]
pub struct Goroutine {
    pub id: u64,
    /// "waiting", "runnable", "running", "syscall" …
    pub state: String,
    /// Why it waits ("chan receive", "select", "sleep" …), when waiting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_reason: Option<String>,
    /// Innermost first.
    pub frames: Vec<SourceFrame>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<SourceFrame>,
    /// Why its stack could not be read completely.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_files() {
        assert_eq!(
            super::short_file("/home/x/go/src/main/worker.go"),
            "main/worker.go"
        );
        assert_eq!(super::short_file("scenarios/main.go"), "scenarios/main.go");
        assert_eq!(super::short_file("main.go"), "main.go");
    }
}
