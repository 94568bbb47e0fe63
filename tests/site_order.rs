//! With a heap profile, sites come in the profile's order (pprof's: by
//! in-use bytes); `why type:` and `why site:` gather alike goroutines into
//! one holder, as `top` does.

mod common;

use std::collections::HashMap;

use common::Fixture;

fn u(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// In-use bytes per allocating line, summed here from the profile's
/// samples: the innermost frame after the leading runtime frames, as pprof
/// shows it.
fn profile_inuse_by_line(f: &Fixture) -> HashMap<(String, u32), i64> {
    let p = rootpath::input::pprof::read_alloc_profile(&f.dir.join("heap.pprof")).expect("profile");
    let mut by_line: HashMap<(String, u32), i64> = HashMap::new();
    for s in &p.samples {
        let leaf = s
            .frames
            .iter()
            .find(|fr| {
                !fr.function.starts_with("runtime.")
                    && !fr.function.starts_with("internal/runtime/")
            })
            .or(s.frames.first());
        let Some(leaf) = leaf else { continue };
        let key = (leaf.function.clone(), leaf.line.unwrap_or(0));
        *by_line.entry(key).or_default() += s.inuse_bytes;
    }
    by_line
}

#[test]
fn sites_with_a_profile_come_in_its_inuse_order() {
    let mut fixtures = common::all_builds();
    fixtures.extend(["go1.22-sampled", "go1.27-sampled"].map(Fixture::load));
    for f in fixtures {
        let heap = f.dir.join("heap.pprof");
        let heap = heap.to_str().expect("path");
        let doc = common::core_json(&f, &["--heap", heap, "sites", "-n", "1000"]);
        let sites = doc["sites"].as_array().expect("sites");
        let by_line = profile_inuse_by_line(&f);
        // Each site's profile figure is the profile's, and they descend.
        let mut previous = u64::MAX;
        let mut compared = 0;
        for s in sites {
            let inuse = s["profile"]["inuse_bytes"].as_i64().unwrap_or(0).max(0) as u64;
            assert!(
                inuse <= previous,
                "{}: {} out of order",
                f.version,
                s["site"]
            );
            previous = inuse;
            let key = (
                s["site"].as_str().expect("site").to_string(),
                s["line"].as_u64().unwrap_or(0) as u32,
            );
            // The program's own sites (runtime-implemented functions such as
            // reflect.addReflectOff are joined by file and line, not name).
            if let (true, Some(&want)) = (key.0.starts_with("main."), by_line.get(&key)) {
                assert_eq!(inuse as i64, want.max(0), "{}: {key:?}", f.version);
                compared += 1;
            }
        }
        assert!(compared >= 4, "{}: {compared} sites compared", f.version);
        // The profile's largest line leads.
        let (top_line, top_bytes) = by_line
            .iter()
            .max_by_key(|(k, b)| (**b, std::cmp::Reverse((*k).clone())))
            .expect("samples");
        assert_eq!(
            (
                sites[0]["site"].as_str().map(str::to_string),
                sites[0]["line"].as_u64().map(|l| l as u32),
                u(&sites[0]["profile"]["inuse_bytes"])
            ),
            (
                Some(top_line.0.clone()),
                Some(top_line.1),
                *top_bytes as u64
            ),
            "{}",
            f.version
        );
        // The report's site section: the same order, first five.
        let report = common::core_json(&f, &["--heap", heap]);
        let first: Vec<&serde_json::Value> = sites.iter().take(5).map(|s| &s["profile"]).collect();
        let reported: Vec<&serde_json::Value> = report["sites"]["sites"]
            .as_array()
            .expect("report sites")
            .iter()
            .map(|s| &s["profile"])
            .collect();
        assert_eq!(reported, first, "{}", f.version);
        // `--by` still chooses.
        let live = common::core_json(&f, &["--heap", heap, "sites", "--by", "live", "-n", "1000"]);
        let live: Vec<u64> = live["sites"]
            .as_array()
            .expect("sites")
            .iter()
            .map(|s| u(&s["live_bytes"]))
            .collect();
        assert!(live.windows(2).all(|w| w[0] >= w[1]), "{}", f.version);
    }
}

/// The 16 leaked workers' buffers: one holder, the group, not 16 entries.
#[test]
fn why_type_merges_alike_goroutines() {
    for f in common::all() {
        let doc = common::core_json(&f, &["why", "type:[32768]uint8"]);
        let roots = doc["roots"].as_array().expect("roots");
        let workers: Vec<&serde_json::Value> = roots
            .iter()
            .filter(|r| {
                r["root"]["name"]
                    .as_str()
                    .is_some_and(|n| n.contains("main.leakWorker"))
            })
            .collect();
        assert_eq!(workers.len(), 1, "{}: {roots:?}", f.version);
        assert_eq!(workers[0]["root"]["kind"], "goroutines");
        assert_eq!(u(&workers[0]["objects"]), 16, "{}", f.version);
        assert_eq!(u(&workers[0]["bytes"]), 16 * 32768, "{}", f.version);
    }
}

/// `why site:` on a sampled run: the estimate beside the sampled figures,
/// near the number the program allocated there (truth).
#[test]
fn why_site_shows_the_estimate() {
    for version in ["go1.22-sampled", "go1.27-sampled"] {
        let f = Fixture::load(version);
        let heap = f.dir.join("heap.pprof");
        let site = f.truth["sites"]
            .as_array()
            .expect("sites")
            .iter()
            .find(|s| s["function"] == "main.allocSiteSmall")
            .expect("truth site");
        let doc = common::core_json(
            &f,
            &[
                "--heap",
                heap.to_str().expect("path"),
                "why",
                "site:main.allocSiteSmall",
            ],
        );
        let sampled = u(&doc["objects"]);
        let estimated = u(&doc["estimated"]["live_objects"]);
        let allocated = u(&site["count"]);
        assert!(sampled < allocated, "{version}: {sampled} sampled");
        // pprof's estimate of 1000 objects from some 60 samples: within 25%.
        assert!(
            estimated.abs_diff(allocated) * 4 < allocated,
            "{version}: ≈{estimated} of {allocated}"
        );
        let text = common::core_output(
            &f,
            &[
                "--heap",
                heap.to_str().expect("path"),
                "why",
                "site:main.allocSiteSmall",
            ],
        );
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.contains("estimated)"), "{version}: {text}");
    }
}
