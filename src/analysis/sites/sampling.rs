//! Sampling weights: the memory-profile rate a dump's figures were sampled at
//! (recorded, inferred or the profile's) and what that coverage means.

use super::SamplingDoc;
use crate::model::{AllocProfile, HeapModel, ObjectId};

/// The sampling rate: the dump's own; a heap dump records none, but when
/// nearly every object carries an allocation sample every allocation was
/// sampled (only what the runtime allocated before the program set the rate
/// has none). The profile's period only when the dump tells nothing: a
/// profile of another process must not change the dump's figures. With the
/// counts behind an inferred rate.
pub(super) fn sampling_rate(
    model: &HeapModel,
    profile: Option<&AllocProfile>,
) -> (Option<u64>, Option<(usize, usize)>) {
    if model.sites.rate.is_some() {
        return (model.sites.rate, None);
    }
    let mut sampled: Vec<ObjectId> = model.sites.object_bucket.iter().map(|&(o, _)| o).collect();
    sampled.dedup();
    if !model.objects.is_empty() && sampled.len() * 10 >= model.objects.len() * 9 {
        return (Some(1), Some((sampled.len(), model.objects.len())));
    }
    let period = profile.map(|p| p.period).filter(|&p| p > 0);
    (period, None)
}

/// How much of the heap the profiling records cover.
pub(super) fn sampling_doc(rate: Option<u64>, inferred: Option<(usize, usize)>) -> SamplingDoc {
    match rate {
        Some(1) => SamplingDoc {
            rate,
            coverage: "exact",
            note: match inferred {
                None => "every allocation was sampled (MemProfileRate=1): counts are exact".into(),
                Some((sampled, all)) => format!(
                    "the dump does not record MemProfileRate, but {sampled} of its {all} \
                     objects carry an allocation sample, as with MemProfileRate=1: counts \
                     are exact"
                ),
            },
        },
        Some(0) => SamplingDoc {
            rate,
            coverage: "off",
            note: "memory profiling was off (MemProfileRate=0, as in programs that never \
                   use runtime/pprof): only allocations from before it was turned off carry \
                   a site; set runtime.MemProfileRate (or GODEBUG=memprofilerate=1) and \
                   import net/http/pprof to sample"
                .into(),
        },
        Some(r) if r > 1 => SamplingDoc {
            rate,
            coverage: "sampled",
            note: format!(
                "about one allocation per {r} bytes was sampled: only sampled objects can be \
                 tied to a site, so live counts are estimates; run with \
                 GODEBUG=memprofilerate=1 for exact figures"
            ),
        },
        _ => SamplingDoc {
            rate: None,
            coverage: "unknown",
            note: "the sampling rate is unknown (pass the executable or a profile): live \
                   figures count sampled objects only"
                .into(),
        },
    }
}
