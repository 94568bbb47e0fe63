//! The growth fixtures (testdata/growth, `generate.sh growth`): heap dumps of one process
//! taken as its leak grew, each with the truth-N.json the program wrote at that moment.

use serde_json::Value;

use super::Fixture;

/// The growth fixture of a version of the matrix.
pub fn growth(version: &str) -> Fixture {
    let name: &'static str = Box::leak(format!("growth/{version}").into_boxed_str());
    Fixture {
        version: name,
        dir: super::fixtures_dir().join(name),
        truth: Value::Null,
    }
}

/// One of the fixture's truth files, e.g. "truth-2.json".
pub fn truth(f: &Fixture, name: &str) -> Value {
    let path = f.dir.join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
