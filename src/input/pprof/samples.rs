//! Any pprof profile.proto (CPU, heap, rootpath's own retention profile …)
//! as plain samples: frame names, one value per sample type, labels. Used to
//! read back what rootpath writes; every index is checked.

use std::collections::HashMap;
use std::path::Path;

use prost::Message;

use super::proto::Profile;
use crate::error::{Error, Result};
use crate::input::Source;

/// A profile's samples with their names resolved.
#[derive(Debug, Clone)]
pub struct SampleProfile {
    /// (type, unit) per value, e.g. ("retained_space", "bytes").
    pub sample_types: Vec<(String, String)>,
    pub default_sample_type: Option<String>,
    pub comments: Vec<String>,
    pub samples: Vec<NamedSample>,
}

#[derive(Debug, Clone)]
pub struct NamedSample {
    /// Function names, innermost first (each location's lines in order).
    pub frames: Vec<String>,
    pub values: Vec<i64>,
    /// String labels (key, value).
    pub labels: Vec<(String, String)>,
}

impl SampleProfile {
    /// The index of the values of sample type `name`.
    pub fn value_index(&self, name: &str) -> Option<usize> {
        self.sample_types.iter().position(|(t, _)| t == name)
    }

    /// The sum of sample type `name` over all samples.
    pub fn total(&self, name: &str) -> Option<i64> {
        let i = self.value_index(name)?;
        Some(
            self.samples
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0))
                .fold(0i64, i64::saturating_add),
        )
    }

    /// The label `key` of a sample.
    pub fn label<'s>(sample: &'s NamedSample, key: &str) -> Option<&'s str> {
        sample
            .labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads the profile at `path` (gzip- or zstd-compressed or not).
pub fn read_sample_profile(path: &Path) -> Result<SampleProfile> {
    let source = Source::open(path)?;
    parse_sample_profile(path, source.bytes())
}

/// Decodes an uncompressed profile.proto.
pub fn parse_sample_profile(path: &Path, bytes: &[u8]) -> Result<SampleProfile> {
    let corrupt = |what: String| Error::malformed(path, format!("corrupt profile: {what}"));
    let p = Profile::decode(bytes)
        .map_err(|e| Error::malformed(path, format!("not a pprof profile.proto: {e}")))?;
    let strings: Vec<String> = p
        .string_table
        .iter()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    if strings.first().is_none_or(|s| !s.is_empty()) {
        return Err(corrupt(
            "its string table does not start with the empty string".into(),
        ));
    }
    let string = |i: i64, what: &str| -> Result<String> {
        usize::try_from(i)
            .ok()
            .and_then(|i| strings.get(i))
            .cloned()
            .ok_or_else(|| corrupt(format!("{what} is string {i} of {}", strings.len())))
    };
    let mut functions = HashMap::with_capacity(p.function.len());
    for f in &p.function {
        let name = if f.name != 0 { f.name } else { f.system_name };
        functions.insert(f.id, string(name, "a function name")?);
    }
    let mut locations = HashMap::with_capacity(p.location.len());
    for l in &p.location {
        let mut names = Vec::with_capacity(l.line.len());
        for line in &l.line {
            let name = functions.get(&line.function_id).ok_or_else(|| {
                corrupt(format!(
                    "location {} names function {}, not defined",
                    l.id, line.function_id
                ))
            })?;
            names.push(name.clone());
        }
        locations.insert(l.id, names);
    }
    let mut sample_types = Vec::with_capacity(p.sample_type.len());
    for vt in &p.sample_type {
        sample_types.push((
            string(vt.r#type, "a sample type")?,
            string(vt.unit, "a unit")?,
        ));
    }
    let mut samples = Vec::with_capacity(p.sample.len());
    for (i, s) in p.sample.iter().enumerate() {
        if s.value.len() != sample_types.len() {
            return Err(corrupt(format!(
                "sample {i} has {} values for {} sample types",
                s.value.len(),
                sample_types.len()
            )));
        }
        let mut frames = Vec::with_capacity(s.location_id.len());
        for id in &s.location_id {
            let names = locations.get(id).ok_or_else(|| {
                corrupt(format!("sample {i} refers to location {id}, not defined"))
            })?;
            frames.extend(names.iter().cloned());
        }
        let mut labels = Vec::new();
        for l in s.label.iter().filter(|l| l.str != 0) {
            labels.push((string(l.key, "a label key")?, string(l.str, "a label")?));
        }
        samples.push(NamedSample {
            frames,
            values: s.value.clone(),
            labels,
        });
    }
    let default_sample_type = match p.default_sample_type {
        0 => None,
        i => Some(string(i, "the default sample type")?),
    };
    let comments = p
        .comment
        .iter()
        .map(|&c| string(c, "a comment"))
        .collect::<Result<_>>()?;
    Ok(SampleProfile {
        sample_types,
        default_sample_type,
        comments,
        samples,
    })
}
