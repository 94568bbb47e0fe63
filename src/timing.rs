//! Phase timings on stderr when ROOTPATH_TIMINGS is set: how long each step
//! of a load or an analysis took, for profiling large heaps.

pub struct Phases {
    on: bool,
    last: std::time::Instant,
}

impl Phases {
    pub fn new() -> Self {
        Phases {
            on: std::env::var_os("ROOTPATH_TIMINGS").is_some(),
            last: std::time::Instant::now(),
        }
    }

    /// Reports the time since the previous phase ended (and, on a terminal, shows it).
    pub fn done(&mut self, what: &str) {
        // The step's name without its details, e.g. "objects" of "objects (index regions, …)".
        let step = what.split(" (").next().unwrap_or(what);
        crate::progress::step(&format!("reading the heap… ({step}: done)"));
        if self.on {
            eprintln!(
                "rootpath: {what}: {:.3} s{}",
                self.last.elapsed().as_secs_f64(),
                memory_now()
            );
        }
        self.last = std::time::Instant::now();
    }
}

impl Default for Phases {
    fn default() -> Self {
        Self::new()
    }
}

/// Resident and peak memory so far (Linux), to see which phase sets the peak.
fn memory_now() -> String {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return String::new();
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
    };
    match (field("VmRSS:"), field("VmHWM:")) {
        (Some(rss), Some(hwm)) => format!(" (RSS {} MiB, peak {} MiB)", rss / 1024, hwm / 1024),
        _ => String::new(),
    }
}
