//! Any bytes: the heap dump parser either accepts them or says what is wrong
//! at an offset inside the input; what it accepts, the loader (without an
//! executable) turns into a model or refuses. Nothing panics.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use rootpath::error::Error;
use rootpath::input::Source;
use rootpath::input::heapdump::HeapDumpFile;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = Source::from_bytes(Path::new("fuzz.dump"), data) else {
        return;
    };
    match HeapDumpFile::parse(source) {
        Ok(dump) => {
            // Streaming again yields the same records without errors.
            assert_eq!(dump.records().count() as u64, dump.summary.records);
            if let Ok(model) = rootpath::input::heapdump_loader::load(&dump, None) {
                assert!(model.objects.len() as u64 <= dump.summary.objects);
                assert!(model.sites.object_bucket.is_sorted());
            }
        }
        Err(Error::Corrupt { offset, .. }) => assert!(offset <= data.len() as u64),
        Err(_) => {}
    }
});
