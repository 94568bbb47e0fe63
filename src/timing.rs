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

    /// Reports the time since the previous phase ended.
    pub fn done(&mut self, what: &str) {
        if self.on {
            eprintln!(
                "rootpath: {what}: {:.3} s",
                self.last.elapsed().as_secs_f64()
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
