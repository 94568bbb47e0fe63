//! The `perftools.profiles.Profile` protobuf (google/pprof's
//! `proto/profile.proto`), the fields Go writes, declared by hand for prost,
//! and its conversion to a [`HeapProfile`]. Every id and string index is
//! checked: a corrupt profile is an error, never a panic.

use std::collections::HashMap;
use std::path::Path;

use prost::Message;

use super::{
    HOW_TO_GET_ONE, HeapProfile, ProfileFormat, ProfileFrame, ProfileMapping, ProfileSample,
};
use crate::error::{Error, Result};

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Profile {
    #[prost(message, repeated, tag = "1")]
    pub sample_type: Vec<ValueType>,
    #[prost(message, repeated, tag = "2")]
    pub sample: Vec<Sample>,
    #[prost(message, repeated, tag = "3")]
    pub mapping: Vec<Mapping>,
    #[prost(message, repeated, tag = "4")]
    pub location: Vec<Location>,
    #[prost(message, repeated, tag = "5")]
    pub function: Vec<Function>,
    /// Bytes, not `string`: a non-UTF-8 file name should not make the whole
    /// profile unreadable.
    #[prost(bytes = "vec", repeated, tag = "6")]
    pub string_table: Vec<Vec<u8>>,
    #[prost(int64, tag = "7")]
    pub drop_frames: i64,
    #[prost(int64, tag = "8")]
    pub keep_frames: i64,
    #[prost(int64, tag = "9")]
    pub time_nanos: i64,
    #[prost(int64, tag = "10")]
    pub duration_nanos: i64,
    #[prost(message, optional, tag = "11")]
    pub period_type: Option<ValueType>,
    #[prost(int64, tag = "12")]
    pub period: i64,
    #[prost(int64, repeated, tag = "13")]
    pub comment: Vec<i64>,
    #[prost(int64, tag = "14")]
    pub default_sample_type: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ValueType {
    #[prost(int64, tag = "1")]
    pub r#type: i64,
    #[prost(int64, tag = "2")]
    pub unit: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Sample {
    #[prost(uint64, repeated, tag = "1")]
    pub location_id: Vec<u64>,
    #[prost(int64, repeated, tag = "2")]
    pub value: Vec<i64>,
    #[prost(message, repeated, tag = "3")]
    pub label: Vec<Label>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Label {
    #[prost(int64, tag = "1")]
    pub key: i64,
    #[prost(int64, tag = "2")]
    pub str: i64,
    #[prost(int64, tag = "3")]
    pub num: i64,
    #[prost(int64, tag = "4")]
    pub num_unit: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Mapping {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(uint64, tag = "2")]
    pub memory_start: u64,
    #[prost(uint64, tag = "3")]
    pub memory_limit: u64,
    #[prost(uint64, tag = "4")]
    pub file_offset: u64,
    #[prost(int64, tag = "5")]
    pub filename: i64,
    #[prost(int64, tag = "6")]
    pub build_id: i64,
    #[prost(bool, tag = "7")]
    pub has_functions: bool,
    #[prost(bool, tag = "8")]
    pub has_filenames: bool,
    #[prost(bool, tag = "9")]
    pub has_line_numbers: bool,
    #[prost(bool, tag = "10")]
    pub has_inline_frames: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Location {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(uint64, tag = "2")]
    pub mapping_id: u64,
    #[prost(uint64, tag = "3")]
    pub address: u64,
    #[prost(message, repeated, tag = "4")]
    pub line: Vec<Line>,
    #[prost(bool, tag = "5")]
    pub is_folded: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Line {
    #[prost(uint64, tag = "1")]
    pub function_id: u64,
    #[prost(int64, tag = "2")]
    pub line: i64,
    #[prost(int64, tag = "3")]
    pub column: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Function {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(int64, tag = "2")]
    pub name: i64,
    #[prost(int64, tag = "3")]
    pub system_name: i64,
    #[prost(int64, tag = "4")]
    pub filename: i64,
    #[prost(int64, tag = "5")]
    pub start_line: i64,
}

/// Decodes `bytes` (an uncompressed protobuf) as a heap profile.
pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<HeapProfile> {
    let profile = Profile::decode(bytes).map_err(|e| {
        Error::malformed(
            path,
            format!(
                "not a pprof profile (neither legacy heap profile text nor a readable \
                 profile.proto: {e}); the file may be truncated or corrupt. {HOW_TO_GET_ONE}"
            ),
        )
    })?;
    Converter::new(path, &profile)?.heap_profile()
}

/// Resolves the profile's ids and string indices, each checked.
struct Converter<'a> {
    path: &'a Path,
    profile: &'a Profile,
    strings: Vec<String>,
    locations: HashMap<u64, &'a Location>,
    /// Function id → (name, file).
    functions: HashMap<u64, (usize, usize)>,
}

impl<'a> Converter<'a> {
    fn new(path: &'a Path, profile: &'a Profile) -> Result<Self> {
        let strings: Vec<String> = profile
            .string_table
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        // profile.proto: "string_table[0] must always be """. A profile
        // without it is not one pprof would read either.
        if strings.first().is_none_or(|s| !s.is_empty()) {
            return Err(Error::malformed(
                path,
                format!(
                    "not a pprof profile: its string table does not start with the empty \
                     string (the data may be corrupt or not a profile). {HOW_TO_GET_ONE}"
                ),
            ));
        }
        let mut converter = Converter {
            path,
            profile,
            strings,
            locations: HashMap::with_capacity(profile.location.len()),
            functions: HashMap::with_capacity(profile.function.len()),
        };
        for location in &profile.location {
            if location.id == 0 || converter.locations.insert(location.id, location).is_some() {
                return Err(
                    converter.corrupt(format!("location id {} is zero or used twice", location.id))
                );
            }
        }
        for function in &profile.function {
            let name_index = if function.name != 0 {
                function.name
            } else {
                function.system_name
            };
            let name = converter.string_index(name_index, "function name")?;
            let file = converter.string_index(function.filename, "function file name")?;
            if function.id == 0
                || converter
                    .functions
                    .insert(function.id, (name, file))
                    .is_some()
            {
                return Err(
                    converter.corrupt(format!("function id {} is zero or used twice", function.id))
                );
            }
        }
        Ok(converter)
    }

    fn heap_profile(&self) -> Result<HeapProfile> {
        let profile = self.profile;
        let mut types = Vec::with_capacity(profile.sample_type.len());
        for vt in &profile.sample_type {
            types.push((
                self.string(vt.r#type, "sample type")?,
                self.string(vt.unit, "sample unit")?,
            ));
        }
        let index =
            |name: &str, unit: &str| types.iter().position(|&(t, u)| t == name && u == unit);
        let (Some(inuse_objects), Some(inuse_bytes)) = (
            index("inuse_objects", "count"),
            index("inuse_space", "bytes"),
        ) else {
            return Err(self.not_heap(&types));
        };
        // Go's heap and allocs profiles always carry the alloc pair; a
        // profile reduced to the in-use pair is still a heap profile.
        let alloc_objects = index("alloc_objects", "count");
        let alloc_bytes = index("alloc_space", "bytes");

        let mut samples = Vec::with_capacity(profile.sample.len());
        for (i, sample) in profile.sample.iter().enumerate() {
            if sample.value.len() != types.len() {
                return Err(self.corrupt(format!(
                    "sample {i} has {} values for {} sample types",
                    sample.value.len(),
                    types.len()
                )));
            }
            // In range: the length was checked against the sample types.
            let value = |index: Option<usize>| {
                index
                    .and_then(|i| sample.value.get(i))
                    .copied()
                    .unwrap_or(0)
            };
            let (frames, location_addresses) = self.stack(i, sample)?;
            samples.push(ProfileSample {
                frames,
                location_addresses,
                raw_pcs: Vec::new(),
                inuse_objects: value(Some(inuse_objects)),
                inuse_bytes: value(Some(inuse_bytes)),
                alloc_objects: value(alloc_objects),
                alloc_bytes: value(alloc_bytes),
                object_size: self.object_size(sample)?,
            });
        }

        let mut mappings = Vec::with_capacity(profile.mapping.len());
        for m in &profile.mapping {
            mappings.push(ProfileMapping {
                start: m.memory_start,
                limit: m.memory_limit,
                offset: m.file_offset,
                file: self.string(m.filename, "mapping file name")?.to_string(),
                build_id: self.string(m.build_id, "mapping build id")?.to_string(),
            });
        }
        let default_sample_type = match profile.default_sample_type {
            0 => None,
            i => Some(self.string(i, "default sample type")?.to_string()),
        };
        Ok(HeapProfile {
            path: self.path.to_path_buf(),
            format: ProfileFormat::Proto,
            period: profile.period,
            scaled: true,
            time_nanos: (profile.time_nanos != 0).then_some(profile.time_nanos),
            default_sample_type,
            mappings,
            samples,
        })
    }

    /// The frames and location addresses of sample `i`.
    fn stack(&self, i: usize, sample: &Sample) -> Result<(Vec<ProfileFrame>, Vec<u64>)> {
        let mut frames = Vec::with_capacity(sample.location_id.len());
        let mut location_addresses = Vec::with_capacity(sample.location_id.len());
        for &id in &sample.location_id {
            let location = self.locations.get(&id).ok_or_else(|| {
                self.corrupt(format!(
                    "sample {i} refers to location id {id}, which the profile does not define"
                ))
            })?;
            location_addresses.push(location.address);
            if location.line.is_empty() {
                // Unsymbolized: keep the frame, so stacks keep their depth.
                frames.push(ProfileFrame {
                    function: String::new(),
                    file: String::new(),
                    line: 0,
                    address: location.address,
                });
            }
            for line in &location.line {
                let &(name, file) = self.functions.get(&line.function_id).ok_or_else(|| {
                    self.corrupt(format!(
                        "location id {id} refers to function id {}, which the profile does \
                         not define",
                        line.function_id
                    ))
                })?;
                let line_number = u32::try_from(line.line).map_err(|_| {
                    self.corrupt(format!(
                        "location id {id} has line number {} out of range",
                        line.line
                    ))
                })?;
                frames.push(ProfileFrame {
                    function: self.strings[name].clone(),
                    file: self.strings[file].clone(),
                    line: line_number,
                    address: location.address,
                });
            }
        }
        Ok((frames, location_addresses))
    }

    /// The numeric "bytes" label Go attaches to each heap sample.
    fn object_size(&self, sample: &Sample) -> Result<Option<i64>> {
        for label in &sample.label {
            if self.string(label.key, "label key")? == "bytes" && label.str == 0 {
                return Ok(Some(label.num));
            }
        }
        Ok(None)
    }

    fn string(&self, index: i64, what: &str) -> Result<&str> {
        Ok(&self.strings[self.string_index(index, what)?])
    }

    /// A checked index into the string table.
    fn string_index(&self, index: i64, what: &str) -> Result<usize> {
        usize::try_from(index)
            .ok()
            .filter(|&i| i < self.strings.len())
            .ok_or_else(|| {
                self.corrupt(format!(
                    "{what} is string {index}, but the string table has {} strings",
                    self.strings.len()
                ))
            })
    }

    fn corrupt(&self, what: String) -> Error {
        Error::malformed(self.path, format!("corrupt profile: {what}"))
    }

    fn not_heap(&self, types: &[(&str, &str)]) -> Error {
        let list = if types.is_empty() {
            "none".to_string()
        } else {
            types
                .iter()
                .map(|(t, u)| format!("{t}/{u}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let kind = profile_kind(types).map_or(String::new(), |k| format!(" ({k})"));
        Error::malformed(
            self.path,
            format!("not a heap profile: its sample types are {list}{kind}; {HOW_TO_GET_ONE}"),
        )
    }
}

/// Names the `runtime/pprof` profile with these sample types, for errors.
fn profile_kind(types: &[(&str, &str)]) -> Option<&'static str> {
    let has = |name: &str| types.iter().any(|&(t, _)| t == name);
    if has("retained_space") {
        Some("a retention profile rootpath wrote with `pprof -o`; it is read with go tool pprof")
    } else if has("cpu") {
        Some("a CPU profile")
    } else if has("goroutine") {
        Some("a goroutine profile")
    } else if has("threadcreate") {
        Some("a threadcreate profile")
    } else if has("contentions") && has("delay") {
        // runtime/pprof writes both with the same sample types.
        Some("a block or mutex profile")
    } else {
        None
    }
}
