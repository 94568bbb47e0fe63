//! Writing pprof profiles (gzipped `perftools.profiles.Profile`, the messages
//! the reader declares): a builder that takes samples as (frames, values,
//! labels), so any analysis rendered as a profile shares one encoder.
//!
//! A frame is a name only: each distinct name becomes one function and one
//! location (no mapping, address or line), which is all `go tool pprof`
//! needs for `-top`, `-tree`, `-traces` and flame graphs.

pub mod growth;
pub mod retention;

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use prost::Message;
use rustc_hash::FxHashMap;

use crate::input::pprof::proto::{Function, Label, Line, Location, Profile, Sample, ValueType};

/// A profile under construction.
pub struct ProfileBuilder {
    profile: Profile,
    strings: FxHashMap<String, i64>,
    /// Frame name → location id.
    locations: FxHashMap<String, u64>,
}

/// A sample's label: a key with a string or a number (with its unit).
pub enum LabelValue<'a> {
    Str(&'a str),
    Num(i64, &'a str),
}

impl ProfileBuilder {
    /// A profile whose samples carry one value per `(type, unit)`, e.g.
    /// `("inuse_space", "bytes")`; pprof shows `default_type` first.
    pub fn new(sample_types: &[(&str, &str)], default_type: &str) -> ProfileBuilder {
        let mut b = ProfileBuilder {
            profile: Profile::default(),
            strings: FxHashMap::default(),
            locations: FxHashMap::default(),
        };
        // profile.proto: string 0 is "".
        b.string("");
        for &(t, u) in sample_types {
            let vt = ValueType {
                r#type: b.string(t),
                unit: b.string(u),
            };
            b.profile.sample_type.push(vt);
        }
        b.profile.default_sample_type = b.string(default_type);
        b
    }

    /// A comment line (`go tool pprof -comments` prints them).
    pub fn comment(&mut self, text: &str) {
        let s = self.string(text);
        self.profile.comment.push(s);
    }

    /// When the profiled state was captured, ns since 1970.
    pub fn time_nanos(&mut self, nanos: i64) {
        self.profile.time_nanos = nanos;
    }

    /// The location of a frame named `name` (one per distinct name).
    pub fn location(&mut self, name: &str) -> u64 {
        if let Some(&id) = self.locations.get(name) {
            return id;
        }
        let id = self.profile.location.len() as u64 + 1;
        let name_index = self.string(name);
        self.profile.function.push(Function {
            id,
            name: name_index,
            system_name: 0,
            filename: 0,
            start_line: 0,
        });
        self.profile.location.push(Location {
            id,
            mapping_id: 0,
            address: 0,
            line: vec![Line {
                function_id: id,
                line: 0,
                column: 0,
            }],
            is_folded: false,
        });
        self.locations.insert(name.to_string(), id);
        id
    }

    /// A sample: locations innermost first (pprof's order), one value per
    /// sample type, labels.
    pub fn sample(
        &mut self,
        locations: Vec<u64>,
        values: Vec<i64>,
        labels: &[(&str, LabelValue<'_>)],
    ) {
        debug_assert_eq!(values.len(), self.profile.sample_type.len());
        let label = labels
            .iter()
            .map(|(key, value)| {
                let key = self.string(key);
                match *value {
                    LabelValue::Str(s) => Label {
                        key,
                        str: self.string(s),
                        num: 0,
                        num_unit: 0,
                    },
                    LabelValue::Num(n, unit) => Label {
                        key,
                        str: 0,
                        num: n,
                        num_unit: self.string(unit),
                    },
                }
            })
            .collect();
        self.profile.sample.push(Sample {
            location_id: locations,
            value: values,
            label,
        });
    }

    /// Encodes the profile, gzipped as `go tool pprof` expects, into `out`.
    pub fn write_gzip(mut self, out: impl Write) -> std::io::Result<()> {
        self.profile.string_table =
            std::mem::take(&mut self.strings)
                .into_iter()
                .fold(Vec::new(), |mut table, (s, i)| {
                    let i = i as usize;
                    if table.len() <= i {
                        table.resize(i + 1, Vec::new());
                    }
                    table[i] = s.into_bytes();
                    table
                });
        let bytes = self.profile.encode_to_vec();
        let mut gz = GzEncoder::new(out, Compression::default());
        gz.write_all(&bytes)?;
        gz.finish()?.flush()
    }

    fn string(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.strings.get(s) {
            return i;
        }
        let i = self.strings.len() as i64;
        self.strings.insert(s.to_string(), i);
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_profile_decodes_with_its_strings_in_place() {
        let mut b = ProfileBuilder::new(&[("a", "count"), ("b", "bytes")], "b");
        let leaf = b.location("leaf");
        let top = b.location("top");
        assert_eq!(b.location("leaf"), leaf);
        b.sample(
            vec![leaf, top],
            vec![1, 8],
            &[("type", LabelValue::Str("T"))],
        );
        let mut gz = Vec::new();
        b.write_gzip(&mut gz).expect("write");
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut raw)
            .expect("gunzip");
        let p = Profile::decode(&raw[..]).expect("decode");
        let s = |i: i64| String::from_utf8_lossy(&p.string_table[i as usize]).into_owned();
        assert_eq!(s(0), "");
        assert_eq!(s(p.default_sample_type), "b");
        assert_eq!(s(p.sample_type[1].r#type), "b");
        assert_eq!(p.sample[0].location_id, vec![leaf, top]);
        assert_eq!(s(p.function[0].name), "leaf");
        assert_eq!(s(p.sample[0].label[0].str), "T");
    }
}
