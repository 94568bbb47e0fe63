//! Little-endian encoding of the index's structured sections (roots, types,
//! goroutines, sites): a writer, and a reader that checks every length.

/// FNV-1a, 64-bit: the index's checksum of its header, table and
/// structured sections (dense arrays are checked by their invariants).
pub fn fnv1a(seed: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(seed, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

pub const FNV_SEED: u64 = 0xcbf2_9ce4_8422_2325;

#[derive(Default)]
pub struct Enc {
    pub buf: Vec<u8>,
}

impl Enc {
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn bool(&mut self, v: bool) {
        self.u8(u8::from(v));
    }
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    pub fn str(&mut self, s: &str) {
        self.len(s.len());
        self.buf.extend_from_slice(s.as_bytes());
    }
    /// A presence byte, then the value.
    pub fn opt<T>(&mut self, v: Option<T>, f: impl FnOnce(&mut Enc, T)) {
        self.bool(v.is_some());
        if let Some(v) = v {
            f(self, v);
        }
    }
    pub fn opt_str(&mut self, v: Option<&str>) {
        self.opt(v, |e, s| e.str(s));
    }
    pub fn opt_u64(&mut self, v: Option<u64>) {
        self.opt(v, Enc::u64);
    }
    pub fn opt_u32(&mut self, v: Option<u32>) {
        self.opt(v, Enc::u32);
    }
}

/// Reads what `Enc` wrote; every read is bounds-checked, so a damaged
/// section gives an error naming what could not be read.
pub struct Dec<'a> {
    data: &'a [u8],
    pos: usize,
}

pub type DecResult<T> = Result<T, String>;

impl<'a> Dec<'a> {
    pub fn new(data: &'a [u8]) -> Dec<'a> {
        Dec { data, pos: 0 }
    }

    fn take(&mut self, n: usize) -> DecResult<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| format!("section ends inside a value at byte {}", self.pos))?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }
    pub fn u8(&mut self) -> DecResult<u8> {
        Ok(self.take(1)?[0])
    }
    pub fn bool(&mut self) -> DecResult<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(format!("flag byte {b} at byte {}", self.pos - 1)),
        }
    }
    pub fn u32(&mut self) -> DecResult<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(&mut self) -> DecResult<u64> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }
    /// A count of items each at least `min_item` bytes long: never more
    /// than the rest of the section could hold (no allocation sized by a
    /// damaged count).
    pub fn len(&mut self, min_item: usize) -> DecResult<usize> {
        let n = self.u64()?;
        let room = (self.data.len() - self.pos) / min_item.max(1);
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= room)
            .ok_or_else(|| format!("count {n} larger than its section at byte {}", self.pos - 8))
    }
    pub fn str(&mut self) -> DecResult<String> {
        let n = self.len(1)?;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| format!("text not UTF-8 at byte {}", self.pos))
    }
    pub fn opt<T>(&mut self, f: impl FnOnce(&mut Dec<'a>) -> DecResult<T>) -> DecResult<Option<T>> {
        if self.bool()? {
            f(self).map(Some)
        } else {
            Ok(None)
        }
    }
    pub fn opt_str(&mut self) -> DecResult<Option<String>> {
        self.opt(Dec::str)
    }
    pub fn opt_u64(&mut self) -> DecResult<Option<u64>> {
        self.opt(Dec::u64)
    }
    pub fn opt_u32(&mut self) -> DecResult<Option<u32>> {
        self.opt(Dec::u32)
    }
    pub fn vec<T>(
        &mut self,
        min_item: usize,
        mut f: impl FnMut(&mut Dec<'a>) -> DecResult<T>,
    ) -> DecResult<Vec<T>> {
        let n = self.len(min_item)?;
        (0..n).map(|_| f(self)).collect()
    }
    /// Whether every byte was read (trailing bytes mean a foreign layout).
    pub fn finish(self) -> DecResult<()> {
        if self.pos == self.data.len() {
            Ok(())
        } else {
            Err(format!(
                "{} unread bytes at the end of a section",
                self.data.len() - self.pos
            ))
        }
    }
}

/// Dense little-endian arrays, checked for a whole number of values.
pub fn bytes_to_u32s(b: &[u8]) -> DecResult<Vec<u32>> {
    if b.len() % 4 != 0 {
        return Err("array section not a whole number of 4-byte values".into());
    }
    Ok(b.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

pub fn bytes_to_u64s(b: &[u8]) -> DecResult<Vec<u64>> {
    if b.len() % 8 != 0 {
        return Err("array section not a whole number of 8-byte values".into());
    }
    Ok(b.chunks_exact(8)
        .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_damage_is_an_error() {
        let mut e = Enc::default();
        e.str("main.cache");
        e.opt_u64(Some(7));
        e.opt_str(None);
        e.u32(0xdead_beef);
        let mut d = Dec::new(&e.buf);
        assert_eq!(d.str().as_deref(), Ok("main.cache"));
        assert_eq!(d.opt_u64(), Ok(Some(7)));
        assert_eq!(d.opt_str(), Ok(None));
        assert_eq!(d.u32(), Ok(0xdead_beef));
        assert!(d.finish().is_ok());
        // Cut short: every read fails cleanly.
        let cut = &e.buf[..e.buf.len() - 2];
        let mut d = Dec::new(cut);
        d.str().ok();
        d.opt_u64().ok();
        d.opt_str().ok();
        assert!(d.u32().is_err());
        // A huge count allocates nothing.
        let mut e = Enc::default();
        e.u64(u64::MAX / 2);
        assert!(Dec::new(&e.buf).vec(1, Dec::u8).is_err());
    }
}
